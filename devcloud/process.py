"""The dev cloud's processes: gunicorn servers known by their pid files, commands run
with their output kept for the error; what cloud.py (Keystone, Glance) and horizon.py
(Horizon) share, so that neither imports the other's."""

import hashlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from . import config as c


class DevCloudError(RuntimeError):
    """The dev cloud could not be set up or started."""


def log(message: str) -> None:
    print(f"devcloud: {message}", file=sys.stderr, flush=True)


def _bin(name: str) -> str:
    return str(c.VENV / "bin" / name)


def _run(argv: list[str], **kwargs) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        output = _tail(result.stdout + result.stderr)
        raise DevCloudError(f"{' '.join(argv)} failed ({result.returncode}):\n{output}")


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


# --- processes --------------------------------------------------------------


def answers(url: str) -> bool:
    """Whether an HTTP server answers ``url`` with anything but a 5xx."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError as exc:
        return exc.code < 500  # Glance answers its version list with 300
    except OSError:
        return False


class Server:
    """One gunicorn master, started in a session of its own and known by its pid file."""

    def __init__(
        self,
        name: str,
        app: str,
        port: int,
        workers: int,
        env: dict[str, str],
        gunicorn: str | None = None,
        chdir: Path | None = None,
        extra_args: tuple[str, ...] = (),
    ):
        self.name, self.app, self.port, self.workers, self.env = name, app, port, workers, env
        self.extra_args = extra_args
        self.gunicorn = gunicorn or _bin("gunicorn")
        self.chdir = chdir or c.ROOT
        self.process: subprocess.Popen | None = None

    @property
    def pid_file(self) -> Path:
        return c.RUN / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return c.LOGS / f"{self.name}.log"

    @property
    def url(self) -> str:
        return f"http://{c.HOST}:{self.port}/"

    def pid(self) -> int | None:
        """The recorded pid, if that process is still the server this dev cloud started.

        gunicorn titles its processes with ``--name``, which names this checkout's dev cloud.
        """
        try:
            pid = int(self.pid_file.read_text())
            title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            return None
        return pid if f"[{self.proc_name}]" in title else None

    @property
    def proc_name(self) -> str:
        home = hashlib.sha256(str(c.HOME).encode()).hexdigest()[:10]
        return f"devcloud-{self.name}-{home}"

    def answers(self) -> bool:
        return answers(self.url)

    @property
    def config_file(self) -> Path:
        """The digest of the configuration the running server was started with."""
        return c.RUN / f"{self.name}.config"

    def config_digest(self) -> str:
        """A digest of the config files named in the server's environment."""
        digest = hashlib.sha256(" ".join(self.extra_args).encode())
        for value in sorted(self.env.values()):
            path = Path(value)
            if not path.is_absolute():  # a plain value, not a file
                digest.update(value.encode())
                continue
            for file in sorted(path.glob("*.conf")) if path.is_dir() else [path]:
                digest.update(file.read_bytes())
        return digest.hexdigest()

    def is_current(self) -> bool:
        """Whether it runs with the configuration as it is written now."""
        try:
            return self.config_file.read_text() == self.config_digest()
        except OSError:
            return False

    def start(self) -> None:
        if self.answers() and not self.pid():
            raise DevCloudError(
                f"port {self.port} is taken by a process this dev cloud did not start; "
                f"stop it or choose another port (DEVCLOUD_{self.name.upper()}_PORT)"
            )
        log(f"starting {self.name} on {self.url}")
        with open(self.log_file, "ab") as log_file:
            self.process = subprocess.Popen(
                [
                    self.gunicorn,
                    "--bind",
                    f"{c.HOST}:{self.port}",
                    "--workers",
                    str(self.workers),
                    "--threads",
                    "4",
                    "--timeout",
                    "600",
                    "--no-control-socket",
                    "--name",
                    self.proc_name,
                    "--chdir",
                    str(self.chdir),
                    *self.extra_args,
                    self.app,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
                start_new_session=True,
            )
        self.pid_file.write_text(str(self.process.pid))
        self.config_file.write_text(self.config_digest())

    def wait(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.answers():
                return
            if self.process.poll() is not None if self.process else not self.pid():
                break  # exited
            time.sleep(0.3)
        raise DevCloudError(
            f"{self.name} did not come up on {self.url}; the end of {self.log_file}:\n"
            + _tail(self.log_file.read_text(errors="replace"))
        )

    def stop(self, timeout: float = 15) -> bool:
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        log(f"stopping {self.name} (pid {pid})")
        os.killpg(pid, signal.SIGTERM)  # the master and the workers it forked
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._group_alive(pid):
            time.sleep(0.2)
        if self._group_alive(pid):
            os.killpg(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def _group_alive(self, group: int) -> bool:
        """Whether any live (not zombie) process is left in the server's process group."""
        if self.process is not None:
            self.process.poll()  # reap our own child, if it was started by this process
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group and fields[0] != "Z":
                return True
        return False


def apt_install(packages: list[str], log) -> None:
    """Debian's ``packages``, installed with apt (as root, or through sudo), quietly."""
    log(f"installing Debian's {', '.join(packages)} (apt)")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )

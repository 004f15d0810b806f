"""The dev cloud's PostgreSQL: Debian's server, its data under ``.devcloud/state/postgres``.

Installed with apt (as root, or through sudo) when missing; run as the ``postgres``
system user when this runs as root (PostgreSQL refuses to run as root), else as the
current user; listens on loopback only, on ``DEVCLOUD_POSTGRES_PORT``, and on no Unix
socket (a socket's path has at most 107 bytes, which a deep checkout passes).

That port lies below the range the kernel gives outgoing connections (:mod:`.ports`).
Where binding fails all the same while nothing listens there (a connection holds it), the
start is tried again for a while (:func:`start`).

Where that port is taken when the cluster first starts (by another checkout's dev cloud,
say, whose server runs as ``postgres`` and so outlives the shell that started it), the
cluster takes a free port instead, says so, and keeps it (:func:`port`), unless
``DEVCLOUD_POSTGRES_PORT`` was set, which is then an error that names the port.

As root, the ``postgres`` user must be able to enter the checkout. Where it cannot (a
checkout in root's home, mode 700), the cluster and its log live in a folder of this
checkout's own under ``/var/tmp`` instead (:func:`data_dir`); ``devcloud reset`` drops it.
"""

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

from . import config as c
from . import ports
from .process import apt_install

DATABASES = ("keystone", "glance")


class PostgresError(RuntimeError):
    pass


def data_dir() -> Path:
    """``.devcloud/state/postgres``, or where the server's user can reach (see above)."""
    inside = c.STATE / "postgres"
    if os.geteuid() != 0 or (inside / "PG_VERSION").exists():
        return inside
    outside = c.OUTSIDE / "postgres"
    if (outside / "PG_VERSION").exists() or not _postgres_can_enter(c.HOME):
        return outside
    return inside


def _postgres_can_enter(folder: Path) -> bool:
    """Whether the postgres user may enter ``folder`` (or, if missing, its nearest parent)."""
    while not folder.exists():
        folder = folder.parent
    try:
        pwd.getpwnam("postgres")
    except KeyError:  # not installed yet: asked again once it is
        return True
    result = subprocess.run(
        ["runuser", "-u", "postgres", "--", "test", "-x", str(folder)], capture_output=True
    )
    return result.returncode == 0


def _port_file() -> Path:
    return c.STATE / "postgres.port"


def port() -> int:
    """The cluster's port: ``DEVCLOUD_POSTGRES_PORT``'s, or the free one it took instead."""
    if _port_file().exists():
        return int(_port_file().read_text())
    return c.POSTGRES_PORT


def _free_port(after: int) -> int:
    """A usable port (:mod:`.ports`): the first after ``after``, or any below the range."""
    for number in range(after + 1, after + 1000):
        if ports.usable(number):
            return number
    return ports.free_port()


def _choose_port(log) -> int:
    """:func:`port`, or, if something else listens there, a free one (kept from then on)."""
    wanted = port()
    if not ports.taken(wanted):
        return wanted
    if _port_file().exists() or "DEVCLOUD_POSTGRES_PORT" in os.environ:
        raise PostgresError(
            f"{c.HOST}:{wanted} is taken by another server, and this dev cloud's PostgreSQL "
            "listens there: stop that server (another checkout's dev cloud? `make down` "
            "there), or set DEVCLOUD_POSTGRES_PORT to a free port"
        )
    chosen = _free_port(wanted)
    log(
        f"{c.HOST}:{wanted} is taken by another server (another checkout's dev cloud?): "
        f"PostgreSQL listens on {chosen} instead"
    )
    _port_file().parent.mkdir(parents=True, exist_ok=True)
    _port_file().write_text(str(chosen))
    return chosen


def url(database: str) -> str:
    return f"postgresql+psycopg2://postgres@{c.HOST}:{port()}/{database}"


def _bindir() -> Path | None:
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return versions[-1].parent if versions else None


def ensure_installed(log) -> Path:
    """Debian's PostgreSQL server binaries, installed when missing."""
    bindir = _bindir()
    if bindir is not None:
        return bindir
    conf = Path("/etc/postgresql-common/createcluster.conf")
    if not conf.exists():  # no cluster of the package's own, started outside our control
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run([*sudo, "mkdir", "-p", str(conf.parent)], check=True)
        subprocess.run(
            [*sudo, "sh", "-c", f"echo 'create_main_cluster = false' > {conf}"], check=True
        )
    apt_install(["postgresql"], log)
    bindir = _bindir()
    if bindir is None:
        raise PostgresError("apt installed postgresql, but no initdb was found")
    return bindir


def _as_owner() -> list[str]:
    """Run as ``postgres`` when we are root (PostgreSQL refuses root)."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([*_as_owner(), *argv], capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise PostgresError(
            f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
    return result


def _owned(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def _log_file() -> Path:
    """The server's log: in the dev cloud's logs, or beside its data when that is outside
    the checkout (then linked from the logs)."""
    if data_dir().is_relative_to(c.HOME):
        return c.LOGS / "postgres.log"
    return data_dir().parent / "postgres.log"


def running() -> bool:
    bindir = _bindir()
    if bindir is None or not (data_dir() / "PG_VERSION").exists():
        return False
    result = subprocess.run(
        [*_as_owner(), str(bindir / "pg_ctl"), "status", "-D", str(data_dir())],
        capture_output=True,
        text=True,
    )
    return result.returncode == 0


def _listening_on() -> int | None:
    """The port the running server was started on (its ``postmaster.pid``'s fourth line)."""
    try:
        return int((data_dir() / "postmaster.pid").read_text().splitlines()[3])
    except (OSError, IndexError, ValueError):
        return None


def start(log) -> None:
    """initdb (once), start the server, and create the databases; reused if it runs on
    its port (a server on another, as before the port changed, is restarted)."""
    bindir = ensure_installed(log)
    folder = data_dir()
    if not (folder / "PG_VERSION").exists():
        log(f"creating a PostgreSQL cluster in {folder}")
        if not folder.is_relative_to(c.HOME):
            log(f"(the postgres user cannot enter {c.HOME}: the cluster lives outside it)")
            folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _owned(folder.parent)
        folder.mkdir(parents=True, exist_ok=True)
        _owned(folder)
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(folder),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-instructions",
            ]
        )
    if running() and _listening_on() not in (None, port()):
        log(f"PostgreSQL runs on port {_listening_on()}, not {port()}: restarting it")
        stop(log)
    if not running():
        _start_server(bindir, folder, _choose_port(log), log)
    _create_databases(bindir)


def _start_server(bindir: Path, folder: Path, listen: int, log) -> None:
    """pg_ctl start on ``listen``; while the port cannot be bound though nothing listens
    there (a connection's local port, see above), tried again for up to 30 s."""
    log(f"starting PostgreSQL on {c.HOST}:{listen}")
    c.LOGS.mkdir(parents=True, exist_ok=True)
    _log_file().touch()
    _owned(_log_file())
    if _log_file().parent != c.LOGS:
        (c.LOGS / "postgres.log").unlink(missing_ok=True)
        (c.LOGS / "postgres.log").symlink_to(_log_file())
    options = (
        f"-p {listen} -c unix_socket_directories= "
        f"-c listen_addresses={c.HOST} -c max_connections=200 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off"
    )
    argv = [str(bindir / "pg_ctl"), "-D", str(folder), "-l", str(_log_file())]
    argv += ["-w", "-t", "60", "-o", options, "start"]
    deadline = time.monotonic() + 30
    while True:
        logged = _log_file().stat().st_size
        try:
            _run(argv, stdin=subprocess.DEVNULL)
            return
        except PostgresError as exc:  # pg_ctl says "Examine the log output": show it
            with _log_file().open(errors="replace") as server_log:
                server_log.seek(logged)
                said = server_log.read()
            held = "Address already in use" in said and not ports.taken(listen)
            if held and time.monotonic() < deadline:
                log(f"{c.HOST}:{listen} is held by a connection: trying again")
                time.sleep(1)
                continue
            tail = "\n".join(said.splitlines()[-20:])
            raise PostgresError(
                f"{exc}\nthe server's log ({_log_file()}), its end:\n{tail}"
            ) from None


def _psql(bindir: Path, sql: str) -> str:
    return _run(
        [
            str(bindir / "psql"),
            "-h",
            c.HOST,
            "-p",
            str(port()),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-tAc",
            sql,
        ]
    ).stdout


def _create_databases(bindir: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            existing = set(_psql(bindir, "SELECT datname FROM pg_database").split())
            break
        except PostgresError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    for database in DATABASES:
        if database not in existing:
            _psql(bindir, f"CREATE DATABASE {database}")


def stop(log) -> bool:
    bindir = _bindir()
    if bindir is None or not running():
        return False
    log("stopping PostgreSQL")
    _run([str(bindir / "pg_ctl"), "-D", str(data_dir()), "-m", "fast", "-w", "stop"])
    return True


def drop() -> None:
    """Remove a cluster kept outside the checkout (the one inside goes with its state)."""
    if not data_dir().is_relative_to(c.HOME):
        shutil.rmtree(data_dir(), ignore_errors=True)
        (data_dir().parent / "postgres.log").unlink(missing_ok=True)
        if c.OUTSIDE.is_dir() and not any(c.OUTSIDE.iterdir()):
            c.OUTSIDE.rmdir()

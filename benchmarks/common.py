"""What the benchmarks share: the API served by gunicorn as in production, timing, tables."""

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import glanceclient
import yaml
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from devcloud import config as devcloud
from devcloud.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench-results"
BARE_PROXY = "benchmarks.bare_proxy:application"
# The worker model the docs recommend for production.
GUNICORN_ARGS = [
    "--worker-class",
    "gthread",
    "--workers",
    "2",
    "--threads",
    "8",
    "--limit-request-line",
    "8190",
]
# The same budget under granian: two processes, eight threads each for the app.
GRANIAN_ARGS = [
    "--interface",
    "wsgi",
    "--workers",
    "2",
    "--blocking-threads",
    "8",
    "--no-ws",
    "--log-level",
    "warning",
]
SERVERS = ("gunicorn", "granian")
DEFAULT_SERVER = "gunicorn"


# The settings of make bench's servers, for a measurement in this process (Django's test
# client): no debug, no request log, no proxy lookup, the dev cloud's Keystone.
IN_PROCESS_SETTINGS = {
    "DJANGO_SETTINGS_MODULE": "project.settings",
    "DJANGO_DEBUG": "0",
    "DJANGO_ALLOWED_HOSTS": "testserver",
    "GLANCE_API_TRUST_ENV": "false",
    "GLANCE_API_LOG_LEVEL": "WARNING",
    "GLANCE_API_KEYSTONE_URL": devcloud.KEYSTONE_URL,
}


# The bench's own database in the stack's Redis (the stack's instances use 0).
REDIS_DATABASE = 2


def cache_settings(kind: str, folder: Path) -> dict:
    """A measured API's cache: ``"file"``, a file-based cache in ``folder`` (what make
    bench's workers share), or ``"redis"``, the production stack's Redis
    (``deploy.stack``, started if it is not running) in the bench's own database."""
    if kind == "redis":
        from deploy import stack

        stack.start_redis()
        return {
            "DJANGO_CACHE_BACKEND": "glance_api.cache.RedisCache",
            "DJANGO_CACHE_LOCATION": stack.redis_url().rsplit("/", 1)[0] + f"/{REDIS_DATABASE}",
        }
    return {
        "DJANGO_CACHE_BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "DJANGO_CACHE_LOCATION": str(folder),
    }


def keystone_session(account: devcloud.Account = devcloud.DEMO):
    """A reused keystoneauth session, as a well-written direct client would keep."""
    auth = yaml.safe_load(devcloud.CLOUDS_YAML.read_text())["clouds"][account.cloud]["auth"]
    return ks_session.Session(auth=v3.Password(**auth))


def direct_glance(session):
    return glanceclient.Client("2", session=session, region_name=devcloud.REGION)


class ApiServer:
    """The project under gunicorn (gthread workers, as the docs recommend), on loopback.

    Its cache (``cache``) is a file-based Django cache in a folder of its own, shared by
    the workers, so :meth:`clear_cache` makes every worker cold; or ``"redis"``: the
    production stack's Redis (``deploy.stack``, started if it is not running), in a
    database of the bench's own (2), emptied at start. ``app`` serves another WSGI
    application with the same gunicorn settings (see ``bare_proxy``).
    """

    PROJECT = "project.wsgi:application"

    def __init__(
        self,
        app: str = PROJECT,
        gunicorn_args: list[str] | None = None,
        server: str = DEFAULT_SERVER,
        cache: str = "file",
    ):
        self.app = app
        self.cache_kind = cache
        self.server = server
        self.gunicorn_args = GUNICORN_ARGS if gunicorn_args is None else gunicorn_args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.home = Path(tempfile.mkdtemp(prefix="glance-api-bench-"))
        self.cache = self.home / "cache"
        self.tmp = self.home / "tmp"
        self.tmp.mkdir()
        self.process: subprocess.Popen | None = None

    def env(self) -> dict:
        return {
            **os.environ,
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "benchmark-only",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_DB_PATH": str(self.home / "db.sqlite3"),
            **cache_settings(self.cache_kind, self.cache),
            "GLANCE_API_KEYSTONE_URL": devcloud.KEYSTONE_URL,
            "GLANCE_API_LOG_LEVEL": "WARNING",
            "GLANCE_API_TRUST_ENV": "false",  # no proxy here (docs: production)
            "BARE_PROXY_GLANCE_URL": devcloud.GLANCE_URL,
            "TMPDIR": str(self.tmp),  # where a temporary file of the server's would land
        }

    def start(self) -> "ApiServer":
        python = sys.executable
        if self.cache_kind == "redis":
            self._start_redis()
        if self.app == self.PROJECT:
            subprocess.run(
                [python, "manage.py", "migrate", "--noinput", "-v", "0"],
                cwd=ROOT,
                env=self.env(),
                check=True,
            )
        self.log = open(self.home / "gunicorn.log", "wb")
        if self.server == "granian":
            command = [
                python,
                "-m",
                "granian",
                *GRANIAN_ARGS,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                self.app,
            ]
        else:
            command = [
                python,
                "-m",
                "gunicorn",
                self.app,
                "--bind",
                f"127.0.0.1:{self.port}",
                *self.gunicorn_args,
                "--no-control-socket",
                "--timeout",
                "300",
            ]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/api/glance/", timeout=2)
            except urllib.error.HTTPError:
                return self  # 401: it answers
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.server} did not start; see {self.home / 'gunicorn.log'}")

    def _start_redis(self) -> None:
        import redis

        location = cache_settings("redis", self.cache)["DJANGO_CACHE_LOCATION"]
        redis.Redis.from_url(location).flushdb()

    def clear_cache(self) -> None:
        if self.cache_kind == "redis":
            self._start_redis()
        else:
            shutil.rmtree(self.cache, ignore_errors=True)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def ms(seconds: list[float]) -> dict:
    """Median and 90th percentile of durations, in milliseconds."""
    ordered = sorted(seconds)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return {"median": statistics.median(ordered) * 1000, "p90": p90 * 1000, "n": len(ordered)}


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def interleaved(calls: dict, samples: int, warmup: int = 2, before=None) -> dict[str, dict]:
    """Time each of ``calls`` ``samples`` times, taking turns so noise hits all alike.

    ``before`` (if given) runs untimed before every timed call, e.g. to clear a cache.
    """
    for _ in range(warmup):
        for call in calls.values():
            call()
    times = {name: [] for name in calls}
    for _ in range(samples):
        for name, call in calls.items():
            if before:
                before(name)
            times[name].append(timed(call))
    return {name: ms(durations) for name, durations in times.items()}


def print_table(rows: list[dict], title: str) -> None:
    """Rows of ``{"figure", "api": {...}, "direct": {...}, "ratio", "target"}``."""
    print(f"\n{title}")
    print(
        f"{'figure':<34} {'API med':>9} {'API p90':>9} {'direct med':>11} "
        f"{'direct p90':>11} {'ratio':>7} {'target':>8}"
    )
    for row in rows:
        api, direct = row["api"], row["direct"]
        print(
            f"{row['figure']:<34} {api['median']:>9.1f} {api['p90']:>9.1f} "
            f"{direct['median']:>11.1f} {direct['p90']:>11.1f} {row['ratio']:>7.2f} "
            f"{row.get('target', ''):>8}"
        )


def write_results(name: str, data) -> Path:
    """``bench-results/<name>.json``, and its chart beside it where it has one
    (benchmarks/charts.py)."""
    from .charts import write_chart

    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2))
    write_chart(name, data, RESULTS)
    return path


def record(name: str, results: dict) -> Path:
    """``docs/data/<name>.json``: the figures the docs give (a benchmark's ``--record``)."""
    path = ROOT / "docs" / "data" / f"{name}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path

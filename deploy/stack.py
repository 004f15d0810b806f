"""The production set-up on loopback: nginx in front of N gunicorn instances of the
project, sharing Redis, against the dev cloud.

    python -m deploy.stack up [--instances 2]    # also starts the dev cloud
    python -m deploy.stack down

nginx and Redis are Debian's packages (``nginx-light``, ``redis-server``), installed with apt
(as root, or through sudo) when missing. Everything lives under ``.devcloud/stack/``; the
instances share nothing but Redis (sessions, token validations, namespace lists, upload
URLs), Keystone and Glance, and have no SQL database at all (``DJANGO_DB_PATH=none``).
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from devcloud import cloud, process
from devcloud import config as c
from glance_api.exceptions import ERROR_STATUSES, RETRY_AFTER_SECONDS

HOME = c.HOME / "stack"
NGINX_CONF = Path(__file__).with_name("nginx.conf")
# what nginx.conf includes (beside it)
NGINX_INCLUDES = [Path(__file__).with_name("glance-download.conf")]
# Moved up as the dev cloud's release moves its ports (devcloud.config.Release), so that
# the stacks of two releases can run side by side (make test runs both at once).
NGINX_PORT = int(os.environ.get("STACK_NGINX_PORT", 8090 + c.RELEASE.port_offset))
REDIS_PORT = int(os.environ.get("STACK_REDIS_PORT", 6390 + c.RELEASE.port_offset))
FIRST_APP_PORT = int(os.environ.get("STACK_APP_PORT", 8091 + c.RELEASE.port_offset))
# the asynchronous instance beside each instance (glance_api.watch: waits and streams)
FIRST_WATCH_PORT = int(os.environ.get("STACK_WATCH_PORT", 8120 + c.RELEASE.port_offset))
# Waits and streams at once: per client address (nginx's limit_conn; 429 beyond), and
# per asynchronous instance (max_conns; 503 beyond). One event loop keeps 2,000 waiting
# connections with other requests at their speed (docs: benchmarks, "Watching").
WATCH_PER_CLIENT = int(os.environ.get("STACK_WATCH_PER_CLIENT", "32"))
WATCH_CONNS = int(os.environ.get("STACK_WATCH_CONNS", "2000"))
CLIENT_TIMEOUT = int(os.environ.get("STACK_CLIENT_TIMEOUT", "10"))
UPLOAD_CONNECTIONS = int(os.environ.get("STACK_UPLOAD_CONNECTIONS", "4"))
# The 429 for an upload beyond UPLOAD_CONNECTIONS asks the client to wait this long.
RETRY_AFTER = 5
# Requests per second per client address (nginx's limit_req; 429 beyond a burst of twice
# as many): the API as a whole, and uploads started. The loopback stack's are high, as
# make load's clients all come from one address; docs: production values.
API_RATE = int(os.environ.get("STACK_API_RATE", "1000"))
UPLOAD_RATE = int(os.environ.get("STACK_UPLOAD_RATE", "100"))
# Who may ask readyz/ (it probes Keystone and Glance): the load balancer's addresses.
READYZ_ALLOW = os.environ.get("STACK_READYZ_ALLOW", "127.0.0.1 ::1").split()
# nginx takes an instance out for FAIL_TIMEOUT seconds after MAX_FAILS errors within
# FAIL_TIMEOUT (docs: production, "Several instances").
MAX_FAILS, FAIL_TIMEOUT = 3, 10
# gunicorn keeps an idle connection this long, longer than nginx keeps it for reuse
# (keepalive_timeout 60s in nginx.conf): nginx closes it first, never gunicorn.
KEEP_ALIVE = 75
# The same secret key on every instance (sessions and CSRF tokens cross instances); a
# throwaway one for the loopback stack.
SECRET_KEY = "stack-on-loopback-not-a-secret"
# Redis: the default user off; the instances sign in as REDIS_USER, with a password made
# for each stack (HOME/redis.conf and HOME/redis-password, mode 600): tokens' validations,
# sessions and upload grants are in Redis, and Django unpickles what Redis gives it.
# nginx carries image bytes between the clients and Glance (docs: production, "Image bytes through
# nginx"); STACK_ACCEL=0: the app streams them, as without nginx (benchmarks compare both).
ACCEL = os.environ.get("STACK_ACCEL", "1") != "0"
REDIS_USER = "glance-api"
# Redis's memory limit, and what it evicts at the limit: only keys that expire (every
# entry of the app's does but the metadefs generation mark, which must stay: without it
# entries from before the last metadefs write would be read again), least recently used
# first (docs: production, "Redis's memory").
REDIS_MAXMEMORY = os.environ.get("STACK_REDIS_MAXMEMORY", "256mb")
REDIS_POLICY = "volatile-lru"
REDIS_ADDRESS = f"redis://{c.HOST}:{REDIS_PORT}/0"  # no password: for messages


def _secret(name: str) -> str:
    """A secret of this stack's, made on first use in HOME/<name> (mode 600)."""
    import secrets

    path = HOME / name
    if not path.exists():
        HOME.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text().strip()


def redis_password() -> str:
    """This stack's Redis password."""
    return _secret("redis-password")


def accel_secret() -> str:
    """What tells this stack's instances that nginx carries image bytes (the app's
    ACCEL_SECRET, and nginx's X-Glance-Api-Accel)."""
    return _secret("accel-secret")


def redis_url() -> str:
    return f"redis://{REDIS_USER}:{redis_password()}@{c.HOST}:{REDIS_PORT}/0"


PACKAGES = {"nginx": "nginx-light", "redis-server": "redis-server"}


def log(message: str) -> None:
    print(f"stack: {message}", file=sys.stderr, flush=True)


def ensure_installed() -> None:
    missing = [package for command, package in PACKAGES.items() if not _which(command)]
    if not missing:
        return
    process.apt_install(missing, log)


def _which(command: str) -> str | None:
    return shutil.which(command) or shutil.which(command, path="/usr/sbin:/sbin")


def app_url(index: int) -> str:
    return f"http://{c.HOST}:{FIRST_APP_PORT + index}"


NGINX_URL = f"http://{c.HOST}:{NGINX_PORT}"


def app_env() -> dict[str, str]:
    return {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": f"{c.HOST},localhost",
        "DJANGO_DB_PATH": "none",  # no SQL database: sessions live in Redis
        "DJANGO_CACHE_BACKEND": "glance_api.cache.RedisCache",
        "DJANGO_CACHE_LOCATION": redis_url(),
        "DJANGO_SESSION_ENGINE": "django.contrib.sessions.backends.cache",
        "GLANCE_API_KEYSTONE_URL": c.KEYSTONE_URL,
        "GLANCE_API_TRUST_ENV": "false",
        **({"GLANCE_API_ACCEL_SECRET": accel_secret()} if ACCEL else {}),
    }


# gunicorn's longest request line (its default, 4094, is shorter than a path with the
# longest ids and tags the schema allows, percent-encoded); docs: production.
LIMIT_REQUEST_LINE = 8190


# Each instance's access log: the worker (pid) that answered, when nginx took the request
# (its X-Request-Start), the status, the request id and the method; no URL (an upload
# URL is a secret).
ACCESS_LOG_FORMAT = "%(p)s %({x-request-start}i)s %(s)s %({x-openstack-request-id}o)s %(m)s"


def access_log(index: int) -> Path:
    return c.LOGS / f"stack-app-{index}-access.log"


def app_servers(instances: int) -> list[cloud.Server]:
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    return [
        cloud.Server(
            f"stack-app-{i}",
            "project.wsgi:application",
            FIRST_APP_PORT + i,
            2,
            app_env(),
            gunicorn=gunicorn,
            chdir=c.ROOT,
            extra_args=(
                "--limit-request-line",
                str(LIMIT_REQUEST_LINE),
                "--keep-alive",
                str(KEEP_ALIVE),
                # the app loaded once, in the master: a worker that
                # replaces a dead one serves at once (make chaos)
                "--preload",
                "--access-logfile",
                str(access_log(i)),
                "--access-logformat",
                ACCESS_LOG_FORMAT,
            ),
        )
        for i in range(instances)
    ]


def watch_servers(instances: int) -> list[cloud.Server]:
    """Beside each instance, one asynchronous one: the same project under gunicorn with a
    uvicorn worker (project.asgi), one event loop that serves the waits and the streams."""
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    return [
        cloud.Server(
            f"stack-watch-{i}",
            "project.asgi:application",
            FIRST_WATCH_PORT + i,
            1,
            app_env(),
            gunicorn=gunicorn,
            chdir=c.ROOT,
            extra_args=(
                "--worker-class",
                "uvicorn_worker.UvicornWorker",
                "--keep-alive",
                str(KEEP_ALIVE),
                # a stopped instance's streams end at once (their clients come back
                # with Last-Event-ID), its waits too: nginx sends them on
                "--graceful-timeout",
                "5",
            ),
        )
        for i in range(instances)
    ]


# --- Redis ------------------------------------------------------------------------------


def _pid(name: str) -> int | None:
    try:
        pid = int((HOME / f"{name}.pid").read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _redis_conf() -> str:
    return (
        "user default off\n"  # no access without signing in
        f"user {REDIS_USER} on >{redis_password()} ~* &* +@all -@admin\n"
        f"maxmemory {REDIS_MAXMEMORY}\n"
        f"maxmemory-policy {REDIS_POLICY}\n"
    )


def start_redis() -> None:
    conf = HOME / "redis.conf"
    if _pid("redis"):
        if conf.exists() and conf.read_text() == _redis_conf():
            return
        stop_redis()  # one of an older stack, without this configuration
    log(f"starting Redis on {REDIS_ADDRESS} (user {REDIS_USER})")
    conf.touch(mode=0o600)
    conf.write_text(_redis_conf())
    subprocess.run(
        [
            _which("redis-server"),
            str(conf),
            "--port",
            str(REDIS_PORT),
            "--bind",
            c.HOST,
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "yes",
            "--pidfile",
            str(HOME / "redis.pid"),
            "--dir",
            str(HOME),
            "--logfile",
            str(HOME / "redis.log"),
        ],
        check=True,
    )
    _wait(lambda: _redis_answers(), "Redis")


def _redis_answers() -> bool:
    import socket

    try:
        with socket.create_connection((c.HOST, REDIS_PORT), timeout=1) as sock:
            sock.sendall(b"PING\r\n")  # answered, with NOAUTH, before signing in
            return sock.recv(16).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


def stop_redis() -> None:
    _stop("redis")


def _stop(name: str) -> None:
    pid = _pid(name)
    if pid:
        log(f"stopping {name} (pid {pid})")
        os.kill(pid, signal.SIGTERM)
        _wait(lambda: _pid(name) is None, f"{name} to stop", timeout=15)
    (HOME / f"{name}.pid").unlink(missing_ok=True)


# --- nginx ------------------------------------------------------------------------------


def nginx_conf(
    instances: int,
    api_rate: int | None = None,
    readyz_allow: list[str] | None = None,
    upstreams: list[str] | None = None,
    glance: str | None = None,
) -> str:
    """nginx.conf for the stack; ``api_rate`` and ``readyz_allow`` in place of API_RATE and
    READYZ_ALLOW, ``upstreams`` (nginx's ``server`` lines, without the word) in place of
    the instances, ``glance`` (host:port) in place of the dev cloud's (the tests' other
    values)."""
    prefix = HOME / "nginx"
    api_rate = API_RATE if api_rate is None else api_rate
    readyz_allow = READYZ_ALLOW if readyz_allow is None else readyz_allow
    values = {
        "prefix": str(prefix),
        "listen": f"{c.HOST}:{NGINX_PORT}",
        "upstreams": "\n".join(
            f"        server {line};"
            for line in upstreams
            or [
                f"{c.HOST}:{FIRST_APP_PORT + i} max_fails={MAX_FAILS} fail_timeout={FAIL_TIMEOUT}s"
                for i in range(instances)
            ]
        ),
        "watch_upstreams": "\n".join(
            f"        server {c.HOST}:{FIRST_WATCH_PORT + i} max_conns={WATCH_CONNS} "
            f"max_fails={MAX_FAILS} fail_timeout={FAIL_TIMEOUT}s;"
            for i in range(instances)
        ),
        "watch_conns": str(WATCH_CONNS),
        "watch_per_client": str(WATCH_PER_CLIENT),
        "client_timeout": str(CLIENT_TIMEOUT),
        "upload_connections": str(UPLOAD_CONNECTIONS),
        "retry_after": str(RETRY_AFTER),
        "glance_retry_after": str(RETRY_AFTER_SECONDS),
        "api_rate": str(api_rate),
        "api_burst": str(2 * api_rate),
        "upload_rate": str(UPLOAD_RATE),
        "upload_burst": str(2 * UPLOAD_RATE),
        "readyz_allow": "\n".join(f"            allow {address};" for address in readyz_allow),
        "glance": glance or c.GLANCE_URL.removeprefix("http://").rstrip("/"),
        "accel_secret": accel_secret() if ACCEL else "",
        "carry_uploads": "1" if ACCEL else "",
        # as root, nginx's workers run as root too here (throwaway files on loopback)
        "user": "user root;" if os.geteuid() == 0 else "",
        "refusal_statuses": refusal_branches(),
    }
    text = NGINX_CONF.read_text()
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    return text


def refusal_branches() -> str:
    """@upload_refused's branches: the app's status for a refused upload, as the app's
    error map has them (nginx's ``return`` takes no variable for a status)."""
    return "\n".join(
        f"            if ($refusal_status = {code}) {{ return {code} $refusal_body; }}"
        for code in ERROR_STATUSES
    )


def start_nginx(instances: int, **values) -> None:
    """nginx on the stack's port, or reloaded with its configuration as it is now
    (``values``: see :func:`nginx_conf`)."""
    prefix = HOME / "nginx"
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.touch(mode=0o600)  # it holds the accel secret
    conf.chmod(0o600)
    conf.write_text(nginx_conf(instances, **values))
    for include in NGINX_INCLUDES:
        shutil.copyfile(include, prefix / include.name)
    if _nginx_pid():
        subprocess.run(
            [_which("nginx"), "-p", str(prefix), "-c", str(conf), "-s", "reload"], check=True
        )
        return
    log(f"starting nginx on {NGINX_URL}")
    subprocess.run([_which("nginx"), "-p", str(prefix), "-c", str(conf)], check=True)
    _wait(lambda: process.answers(NGINX_URL + "/api/glance/healthz/"), "nginx")


def _nginx_pid() -> int | None:
    try:
        pid = int((HOME / "nginx" / "nginx.pid").read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def stop_nginx() -> None:
    pid = _nginx_pid()
    if pid:
        log(f"stopping nginx (pid {pid})")
        os.kill(pid, signal.SIGQUIT)
        _wait(lambda: _nginx_pid() is None, "nginx to stop", timeout=15)


# --- the whole stack --------------------------------------------------------------------


def _wait(ready, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise cloud.DevCloudError(f"timed out waiting for {what}")
        time.sleep(0.2)


def up(instances: int = 2) -> list[cloud.Server]:
    ensure_installed()
    cloud.up()
    HOME.mkdir(parents=True, exist_ok=True)
    start_redis()
    servers = app_servers(instances)
    everything = servers + watch_servers(instances)
    for server in everything:
        if server.pid() and server.answers() and server.is_current():
            continue
        server.stop()
        server.start()
    for server in everything:
        server.wait()
    start_nginx(instances)
    log(
        f"up: nginx {NGINX_URL}/api/glance/ in front of "
        f"{', '.join(s.url for s in servers)}; Redis {REDIS_ADDRESS} (user {REDIS_USER})"
    )
    return servers


def down(instances: int = 8) -> None:
    stop_nginx()
    for server in app_servers(instances) + watch_servers(instances):
        server.stop()
    stop_redis()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument("--instances", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        up(args.instances) if args.command == "up" else down()
    except cloud.DevCloudError as exc:
        sys.exit(f"stack: {exc}")


if __name__ == "__main__":
    main()

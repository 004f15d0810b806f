"""Horizon 27 from PyPI with glance_api in place of its own ``/api/glance/``.

Set up exactly as the docs tell an operator (usage: "Inside Horizon"): the app installed
into Horizon's venv (``.devcloud/horizon/venv``, editable, so it serves this checkout) by
the docs' commands (:data:`APP_INSTALL`: pip, with the venv's packages held), the app's
enabled file
copied into ``openstack_dashboard/local/enabled/``, and ``ROOT_URLCONF =
"glance_api.horizon.urls"`` in ``local_settings.py``, plus ordinary settings: its cache
and sessions in memcached (Debian's, pymemcache), as Kolla-Ansible, OpenStack-Ansible and
the distributions' packages set Horizon up, so the app shares that cache. Two gunicorn
servers on loopback: the dashboard's legacy upload mode and its direct one.
"""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import config as c
from . import memcached
from .process import DevCloudError, Server, _run, log

# Which Horizon (DEVCLOUD_HORIZON): the newest, or an older release with the packages PyPI
# had in its day (uv --exclude-newer) and the pins OpenStack's constraints then set.
HORIZONS = {
    "27.0.0": (None, []),
    # 2024.1 (Caracal); with XStatic-Font-Awesome 6 every page is a 500
    "24.0.0": ("2024-04-10", ["XStatic-Font-Awesome==4.7.0.0", "setuptools<70"]),
    "25.1.0": ("2024-09-20", ["XStatic-Font-Awesome==4.7.0.0", "setuptools<70"]),  # 2024.2
    "25.3.0": ("2025-03-25", ["XStatic-Font-Awesome==4.7.0.0", "setuptools<70"]),  # 2025.1
    "25.5.0": ("2025-09-20", ["XStatic-Font-Awesome==4.7.0.0", "setuptools<70"]),  # 2025.2
    # 26.0.0 came out before oslo.policy 6 (2026-07-08), with which its panels answer 403
    "26.0.0": ("2026-07-04", []),
}
VERSION = os.environ.get("DEVCLOUD_HORIZON", "27.0.0")
if VERSION not in HORIZONS:
    raise SystemExit(f"DEVCLOUD_HORIZON={VERSION!r}: not one of {', '.join(HORIZONS)}")
VERSION_TUPLE = tuple(int(part) for part in VERSION.split("."))


def home_of(version: str) -> Path:
    """Where a Horizon release's venv and settings are."""
    return c.HOME / ("horizon" if version == "27.0.0" else f"horizon-{version}")


HOME = home_of(VERSION)
VENV = HOME / "venv"
# setproctitle: gunicorn names its processes (see Server.pid); pymemcache: Django's
# memcached backend, which deployments install beside Horizon
SERVERS = ["gunicorn==27.0.1", "setproctitle", "pymemcache"]
REQUIREMENTS = [f"horizon=={VERSION}", *HORIZONS[VERSION][1], *SERVERS]
ENABLED = c.ROOT / "glance_api" / "horizon" / "enabled" / "_9100_glance_api.py"

LOCAL_SETTINGS = f'''"""Horizon's settings for the dev cloud (written by devcloud/horizon.py)."""
import os

DEBUG = True  # Horizon serves its own static files and compresses nothing
SECRET_KEY = "devcloud-horizon-not-a-secret"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
OPENSTACK_HOST = "{c.HOST}"
OPENSTACK_KEYSTONE_URL = "{c.KEYSTONE_URL}"
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
# One memcached for every Horizon of the dev cloud, so a prefix for each install:
# django-compressor keeps in the cache where its output is, and another Horizon, or this
# one's venv before a reinstall, would serve a file only that one had (a page without CSS).
CACHES = {{"default": {{"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
                      "LOCATION": "{memcached.LOCATION}", "KEY_PREFIX": "@CACHE_PREFIX@"}}}}
IMAGES_ALLOW_LOCATION = True
HORIZON_IMAGES_UPLOAD_MODE = os.environ.get("DEVCLOUD_HORIZON_UPLOAD_MODE", "legacy")

# glance_api in place of Horizon's /api/glance/ (the docs' third step); Horizon's own
# where DEVCLOUD_HORIZON_OWN_API is 1 (benchmarks/panel.py compares the two)
if os.environ.get("DEVCLOUD_HORIZON_OWN_API") != "1":
    ROOT_URLCONF = "glance_api.horizon.urls"
GLANCE_API = {{
    "KEYSTONE_URL": OPENSTACK_KEYSTONE_URL,
    "ALLOW_IMAGE_LOCATION": True,
    # the Name facet searches by part of a name (docs: finding, "In the dashboard"): on
    # in the direct-mode dashboard, off (the default) in the other
    "NAME_FILTER_MATCHES_PART": os.environ.get("DEVCLOUD_HORIZON_NAME_SEARCH") == "1",
}}
'''


PACKAGES = HOME / "horizon-packages.txt"


def _python() -> str:
    return str(VENV / "bin" / "python")


def _freeze() -> str:
    """The venv's packages, ``name==version`` a line (uv's pip freeze)."""
    uv = str(Path(sys.executable).with_name("uv"))
    return subprocess.run(
        [uv, "pip", "freeze", "--python", _python()], capture_output=True, text=True, check=True
    ).stdout


def installed() -> tuple[dict[str, str], dict[str, str]]:
    """What Horizon's venv has now, and what it had before the app: name -> version."""

    def parse(text: str) -> dict[str, str]:
        return dict(line.split("==", 1) for line in text.splitlines() if "==" in line)

    return parse(_freeze()), parse(PACKAGES.read_text())


def dashboard_dir() -> Path:
    out = subprocess.run(
        [
            _python(),
            "-c",
            "import openstack_dashboard, os; print(os.path.dirname(openstack_dashboard.__file__))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


# The docs' step 1 (usage: "Inside Horizon"), word for word but for where the app comes
# from and the servers an operator's Horizon already has: the venv's own packages held
# as they are (a constraints file made from the venv), then pip's own check.
# tests/test_docs.py checks that the docs give these very commands.
APP_INSTALL = [
    "python -m pip freeze --exclude-editable > horizon-constraints.txt",
    "python -m pip install -c horizon-constraints.txt glance-api",
    "python -m pip check",
]


def install_app() -> None:
    """:data:`APP_INSTALL` in Horizon's venv: this checkout (editable) for ``glance-api``,
    with the servers Horizon runs under here."""
    constraints = HOME / "horizon-constraints.txt"
    for command in APP_INSTALL:
        words = command.split()
        args = [_python(), *words[1:]]
        if ">" in args:
            args = args[: args.index(">")]
            constraints.write_text(
                subprocess.run(args, capture_output=True, text=True, check=True).stdout
            )
            continue
        args = [str(constraints) if a == "horizon-constraints.txt" else a for a in args]
        if "glance-api" in args:
            at = args.index("glance-api")
            args[at : at + 1] = ["--quiet", *SERVERS, "-e", str(c.ROOT)]
        _run(args)


def ensure_installed() -> None:
    """Horizon in a venv of its own, as of its day; then, as an operator would add them, the
    servers and this checkout's app (editable). What Horizon had before the app came is kept
    in ``horizon-packages.txt`` beside the venv, for the test that nothing changed."""
    marker = VENV / ".installed.sha256"
    date, pins = HORIZONS[VERSION]
    # this checkout too: the app is installed from it (editable)
    recipe = [str(date), *REQUIREMENTS, *APP_INSTALL, str(c.ROOT)]
    wanted = hashlib.sha256(" ".join(recipe).encode()).hexdigest()
    if not (marker.exists() and marker.read_text() == wanted):
        log(f"installing Horizon {VERSION} into {VENV} (about a minute)")
        shutil.rmtree(VENV, ignore_errors=True)  # a changed recipe starts anew
        uv = str(Path(sys.executable).with_name("uv"))
        # with pip in it (--seed), as an operator's venv has
        _run([uv, "venv", "--quiet", "--seed", "--python", sys.executable, str(VENV)])
        python = ["--python", _python()]
        newer = ["--exclude-newer", date] if date else []
        _run([uv, "pip", "install", "--quiet", *python, *newer, f"horizon=={VERSION}", *pins])
        PACKAGES.write_text(_freeze())
        install_app()
        marker.write_text(wanted)
    local = dashboard_dir() / "local"
    shutil.copy(ENABLED, local / "enabled" / ENABLED.name)  # the docs' second step
    settings = HOME / "local_settings.py"
    prefix = f"horizon-{VERSION}-{marker.read_text()[:12]}-{int(marker.stat().st_mtime)}"
    settings.write_text(LOCAL_SETTINGS.replace("@CACHE_PREFIX@", prefix))
    link = local / "local_settings.py"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(settings)


def check() -> subprocess.CompletedProcess:
    """``pip check`` of Horizon's venv (uv's)."""
    uv = str(Path(sys.executable).with_name("uv"))
    return subprocess.run(
        [uv, "pip", "check", "--python", _python()], capture_output=True, text=True
    )


def servers() -> list[Server]:
    venv_gunicorn = str(VENV / "bin" / "gunicorn")
    return [
        Server(
            name,
            "openstack_dashboard.wsgi:application",
            port,
            1,
            {
                "DEVCLOUD_HORIZON_UPLOAD_MODE": mode,
                "DEVCLOUD_HORIZON_NAME_SEARCH": "1" if mode == "direct" else "0",
                "DEVCLOUD_HORIZON_SETTINGS": str(HOME / "local_settings.py"),
            },
            gunicorn=venv_gunicorn,
            chdir=HOME,
        )
        for name, port, mode in (
            ("horizon", c.HORIZON_PORT, "legacy"),
            ("horizon-direct", c.HORIZON_DIRECT_PORT, "direct"),
        )
    ]


def own_api_server() -> Server:
    """The same Horizon on its own ``/api/glance/`` (legacy upload mode): what
    benchmarks/panel.py measures the app against. Started by it; stopped by down()."""
    return Server(
        "horizon-own-api",
        "openstack_dashboard.wsgi:application",
        c.HORIZON_OWN_PORT,
        1,
        {
            "DEVCLOUD_HORIZON_UPLOAD_MODE": "legacy",
            "DEVCLOUD_HORIZON_NAME_SEARCH": "0",
            "DEVCLOUD_HORIZON_OWN_API": "1",
            "DEVCLOUD_HORIZON_SETTINGS": str(HOME / "local_settings.py"),
        },
        gunicorn=str(VENV / "bin" / "gunicorn"),
        chdir=HOME,
    )


def up() -> list[Server]:
    """Horizon in both upload modes, on the running dev cloud; reused if they run."""
    ensure_installed()
    memcached.start(log)
    running = servers()
    for server in running:
        if server.pid() and server.answers() and server.is_current():
            continue
        if server.pid():
            server.stop()
        server.start()
    for server in running:
        server.wait()
    return running


def down() -> None:
    for server in [*servers(), own_api_server()]:
        server.stop()


if __name__ == "__main__":
    try:
        for started in up():
            print(started.url)
    except DevCloudError as exc:
        sys.exit(f"devcloud: {exc}")

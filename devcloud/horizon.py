"""Horizon 27 from PyPI with glance_api in place of its own ``/api/glance/``.

Set up exactly as the README tells an operator: the app installed into Horizon's venv
(``.devcloud/horizon/venv``, editable, so it serves this checkout), the app's enabled file
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
from .cloud import DevCloudError, Server, _run, log

# Which Horizon (DEVCLOUD_HORIZON): the newest, or an older release with the packages PyPI
# had in its day (uv --exclude-newer) and the pins OpenStack's constraints then set.
HORIZONS = {
    "27.0.0": (None, []),
    # 2024.1 (Caracal); with XStatic-Font-Awesome 6 every page is a 500
    "24.0.0": ("2024-04-10", ["XStatic-Font-Awesome==4.7.0.0", "setuptools<70"]),
}
VERSION = os.environ.get("DEVCLOUD_HORIZON", "27.0.0")
if VERSION not in HORIZONS:
    raise SystemExit(f"DEVCLOUD_HORIZON={VERSION!r}: not one of {', '.join(HORIZONS)}")
HOME = c.HOME / ("horizon" if VERSION == "27.0.0" else f"horizon-{VERSION}")
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
CACHES = {{"default": {{"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
                      "LOCATION": "{memcached.LOCATION}"}}}}
IMAGES_ALLOW_LOCATION = True
HORIZON_IMAGES_UPLOAD_MODE = os.environ.get("DEVCLOUD_HORIZON_UPLOAD_MODE", "legacy")

# glance_api in place of Horizon's /api/glance/ (the README's third step)
ROOT_URLCONF = "glance_api.horizon.urls"
GLANCE_API = {{"KEYSTONE_URL": OPENSTACK_KEYSTONE_URL, "ALLOW_IMAGE_LOCATION": True}}
'''


def _python() -> str:
    return str(VENV / "bin" / "python")


def dashboard_dir() -> Path:
    out = subprocess.run([_python(), "-c", "import openstack_dashboard, os; "
                          "print(os.path.dirname(openstack_dashboard.__file__))"],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def ensure_installed() -> None:
    """Horizon and gunicorn in a venv of their own, with this checkout's app, once."""
    marker = VENV / ".installed.sha256"
    wanted = hashlib.sha256(" ".join(REQUIREMENTS).encode()).hexdigest()
    if not (marker.exists() and marker.read_text() == wanted):
        log(f"installing Horizon {VERSION} into {VENV} (about a minute)")
        date = HORIZONS[VERSION][0]
        if date is None:
            if not (VENV / "bin" / "python").exists():
                _run([sys.executable, "-m", "venv", str(VENV)])
            _run([_python(), "-m", "pip", "install", "--quiet", *REQUIREMENTS, "-e",
                  str(c.ROOT)])
        else:  # Horizon as of its day, then the servers and the app (which change none of it)
            uv = str(Path(sys.executable).with_name("uv"))
            if not (VENV / "bin" / "python").exists():
                _run([uv, "venv", "--quiet", "--python", sys.executable, str(VENV)])
            python = ["--python", _python()]
            _run([uv, "pip", "install", "--quiet", *python, "--exclude-newer", date,
                  f"horizon=={VERSION}", *HORIZONS[VERSION][1]])
            _run([uv, "pip", "install", "--quiet", *python, *SERVERS, "-e", str(c.ROOT)])
        marker.write_text(wanted)
    local = dashboard_dir() / "local"
    shutil.copy(ENABLED, local / "enabled" / ENABLED.name)  # the README's second step
    settings = HOME / "local_settings.py"
    settings.write_text(LOCAL_SETTINGS)
    link = local / "local_settings.py"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(settings)


def servers() -> list[Server]:
    venv_gunicorn = str(VENV / "bin" / "gunicorn")
    return [
        Server(name, "openstack_dashboard.wsgi:application", port, 1,
               {"DEVCLOUD_HORIZON_UPLOAD_MODE": mode,
                "DEVCLOUD_HORIZON_SETTINGS": str(HOME / "local_settings.py")},
               gunicorn=venv_gunicorn, chdir=HOME)
        for name, port, mode in (("horizon", c.HORIZON_PORT, "legacy"),
                                 ("horizon-direct", c.HORIZON_DIRECT_PORT, "direct"))
    ]


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
    for server in servers():
        server.stop()


if __name__ == "__main__":
    try:
        for started in up():
            print(started.url)
    except DevCloudError as exc:
        sys.exit(f"devcloud: {exc}")

"""A real Keystone and Glance on loopback: install, configure, start, stop.

Everything lives under ``.devcloud/``: the servers' own venv, their configs, files and
PostgreSQL cluster (``state/``), logs (``logs/``), pid files (``run/``) and the
``clouds.yaml`` that clients use.
"""

import hashlib
import os
import shutil
import sys
from pathlib import Path

import yaml

from . import config as c
from . import horizon, memcached, postgres
from .process import DevCloudError, Server, _bin, _run, log

GLANCE_STORES = ("fs", "fs2")  # a second file store, so copy-image has somewhere to go
HTTP_STORE = "web"  # read-only: lets an http(s) URL be an image's location


# --- the servers' venv ------------------------------------------------------


def ensure_venv() -> None:
    """Install Keystone, Glance and gunicorn into their own venv, once per requirements."""
    marker = c.VENV / ".requirements.sha256"
    wanted = hashlib.sha256(c.REQUIREMENTS.read_bytes())
    if c.RELEASE.uploaded_before:
        wanted.update(SERVERS_REQUIREMENTS.read_bytes())
    wanted = wanted.hexdigest()
    if marker.exists() and marker.read_text() == wanted and Path(_bin("gunicorn")).exists():
        return
    log(f"installing Keystone and Glance ({c.RELEASE.name}) into {c.VENV} (about a minute)")
    if c.RELEASE.uploaded_before:
        _install_as_of(c.RELEASE.uploaded_before)
    else:
        if not (c.VENV / "bin" / "python").exists():
            _run([sys.executable, "-m", "venv", str(c.VENV)])
        _run([_bin("python"), "-m", "pip", "install", "--quiet", "-r", str(c.REQUIREMENTS)])
    marker.write_text(wanted)


SERVERS_REQUIREMENTS = c.REQUIREMENTS.with_name("requirements-servers.txt")


def _install_as_of(date: str) -> None:
    """An older release's packages as PyPI had them on ``date``, with uv's --exclude-newer
    (pip's --uploaded-prior-to is silently defeated by a local index or find-links, which
    carry no upload dates), then the servers' gunicorn and driver as of today."""
    uv = str(Path(sys.executable).with_name("uv"))
    python = ["--python", _bin("python")]
    if not (c.VENV / "bin" / "python").exists():
        _run([uv, "venv", "--quiet", "--python", sys.executable, str(c.VENV)])
    _run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            *python,
            "--exclude-newer",
            date,
            "-r",
            str(c.REQUIREMENTS),
        ]
    )
    _run([uv, "pip", "install", "--quiet", *python, "-r", str(SERVERS_REQUIREMENTS)])


# --- configuration ----------------------------------------------------------


def keystone_conf() -> Path:
    return c.STATE / "keystone.conf"


def glance_conf_dir() -> Path:
    return c.STATE / "glance"


def write_configs() -> None:
    for folder in (c.STATE, c.LOGS, c.RUN, glance_conf_dir()):
        folder.mkdir(parents=True, exist_ok=True)
    # Glance 28 (2024.1) reads its paste file from its config folder, newer ones need not
    shutil.copyfile(
        c.VENV / "etc" / "glance" / "glance-api-paste.ini",
        glance_conf_dir() / "glance-api-paste.ini",
    )
    keystone_conf().write_text(
        f"""[DEFAULT]
use_stderr = true

[database]
connection = {postgres.url("keystone")}

[fernet_tokens]
key_repository = {c.STATE / "fernet-keys"}

[fernet_receipts]
key_repository = {c.STATE / "fernet-keys"}

[credential]
key_repository = {c.STATE / "credential-keys"}
"""
    )
    backends = ", ".join([*(f"{store}:file" for store in GLANCE_STORES), f"{HTTP_STORE}:http"])
    stores = "".join(
        f"\n[{store}]\nfilesystem_store_datadir = {c.STATE / 'images' / store}\n"
        for store in GLANCE_STORES
    )
    (glance_conf_dir() / "glance-api.conf").write_text(
        f"""[DEFAULT]
use_stderr = true
enabled_backends = {backends}
enabled_import_methods = [glance-direct, web-download, copy-image]
show_multiple_locations = false
show_image_direct_url = false
# the image cache (the cache API, 2.14, and the cache middleware of the paste flavor
# below): Glance 29 and later keep its records in Glance's database, per node, named by
# this URL; Glance 28 (2024.1) in a SQLite file in the folder
image_cache_dir = {c.STATE / "image-cache"}
worker_self_reference_url = {c.GLANCE_URL}

[database]
connection = {postgres.url("glance")}
max_pool_size = 10
max_overflow = 20

[glance_store]
default_backend = fs
{stores}
[os_glance_staging_store]
filesystem_store_datadir = {c.STATE / "images" / "staging"}

[os_glance_tasks_store]
filesystem_store_datadir = {c.STATE / "images" / "tasks"}

[import_filtering_opts]
# web-download and http locations: from these hosts only (Glance refuses loopback
# unless it is listed), on any port.
allowed_hosts = [{", ".join(c.IMPORT_HOSTS)}]
allowed_ports = []

[paste_deploy]
flavor = keystone+caching
config_file = {c.VENV / "etc" / "glance" / "glance-api-paste.ini"}

[keystone_authtoken]
www_authenticate_uri = {c.KEYSTONE_URL}
auth_url = {c.KEYSTONE_URL}
auth_type = password
username = {c.ADMIN.username}
password = {c.ADMIN.password}
project_name = {c.ADMIN.project}
user_domain_name = {c.DOMAIN}
project_domain_name = {c.DOMAIN}
"""
    )


def _prepare_databases() -> None:
    """db_sync, keys and metadefs, once per state folder."""
    marker = c.STATE / ".databases-ready-postgresql"
    if marker.exists():
        return
    log("creating Keystone's and Glance's databases")
    keystone = [_bin("keystone-manage"), "--config-file", str(keystone_conf())]
    user = ["--keystone-user", _current_user(), "--keystone-group", _current_group()]
    _run([*keystone, "db_sync"])
    _run([*keystone, "fernet_setup", *user])
    _run([*keystone, "credential_setup", *user])
    glance = [_bin("glance-manage"), "--config-file", str(glance_conf_dir() / "glance-api.conf")]
    _run([*glance, "db_sync"])
    _run([*glance, "db_load_metadefs", str(c.VENV / "etc" / "glance" / "metadefs")])
    marker.touch()


def _bootstrap_keystone() -> None:
    """Admin user, project, role and the identity endpoints (idempotent in Keystone)."""
    _run(
        [
            _bin("keystone-manage"),
            "--config-file",
            str(keystone_conf()),
            "bootstrap",
            "--bootstrap-password",
            c.ADMIN.password,
            "--bootstrap-username",
            c.ADMIN.username,
            "--bootstrap-project-name",
            c.ADMIN.project,
            "--bootstrap-region-id",
            c.REGION,
            "--bootstrap-public-url",
            c.KEYSTONE_URL + "/",
            "--bootstrap-internal-url",
            c.KEYSTONE_URL + "/",
            "--bootstrap-admin-url",
            c.KEYSTONE_URL + "/",
        ]
    )


def _current_user() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def _current_group() -> str:
    import grp

    return grp.getgrgid(os.getgid()).gr_name


GLANCE_ACCESS_LOG = c.LOGS / "glance-access.log"
KEYSTONE_ACCESS_LOG = c.LOGS / "keystone-access.log"
# Each request a server answered, how long it took and its global request id (the
# API's request id), last
ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(M)sms %({x-openstack-request-id}i)s'


def servers() -> tuple[Server, Server]:
    keystone = Server(
        "keystone",
        "devcloud.keystone_wsgi:application",
        c.KEYSTONE_PORT,
        c.KEYSTONE_WORKERS,
        {"OS_KEYSTONE_CONFIG_FILES": str(keystone_conf())},
        # what the tests read to see which calls reached Keystone
        extra_args=(
            "--access-logfile",
            str(KEYSTONE_ACCESS_LOG),
            "--access-logformat",
            ACCESS_LOG_FORMAT,
        ),
    )
    glance = Server(
        "glance",
        "devcloud.glance_wsgi:application",
        c.GLANCE_PORT,
        c.GLANCE_WORKERS,
        {"OS_GLANCE_CONFIG_DIR": str(glance_conf_dir())},
        extra_args=(
            "--access-logfile",
            str(GLANCE_ACCESS_LOG),
            "--access-logformat",
            ACCESS_LOG_FORMAT,
            "--threads",
            str(c.GLANCE_THREADS),
        ),
    )
    return keystone, glance


# --- the whole cloud --------------------------------------------------------


def up() -> None:
    """Bring the dev cloud up; a second call reuses what already runs."""
    keystone, glance = servers()
    ensure_venv()
    _leave_sqlite()
    try:
        postgres.start(log)  # first: it may take another port than the usual
    except postgres.PostgresError as exc:
        raise DevCloudError(str(exc)) from exc
    write_configs()
    if all(s.pid() and s.answers() and s.is_current() for s in (keystone, glance)):
        write_clouds_yaml()
        log(f"already running: Keystone {c.KEYSTONE_URL}, Glance {c.GLANCE_URL}")
        return
    for server in (keystone, glance):
        if server.pid() and not server.is_current():
            log(f"{server.name}'s configuration changed")
            server.stop()
    _prepare_databases()
    if not keystone.pid():
        _bootstrap_keystone()
        keystone.start()
    keystone.wait()
    from .accounts import register

    register()
    if not glance.pid():
        glance.start()
    glance.wait()
    write_clouds_yaml()
    log(f"up: Keystone {c.KEYSTONE_URL}, Glance {c.GLANCE_URL}, credentials in {c.CLOUDS_YAML}")


def _leave_sqlite() -> None:
    """A state made when the dev cloud ran on SQLite is dropped (nothing in it is kept)."""
    if (c.STATE / "glance.sqlite").exists() or (c.STATE / ".databases-ready").exists():
        log("the dev cloud now runs on PostgreSQL: dropping the old SQLite state")
        reset()


def down() -> None:
    stopped = [server.name for server in (*horizon.servers(), *servers()) if server.stop()]
    if memcached.stop(log):
        stopped.append("memcached")
    if postgres.stop(log):
        stopped.append("postgres")
    log(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")


def status() -> dict[str, dict]:
    report = {
        server.name: {"url": server.url, "pid": server.pid(), "answers": server.answers()}
        for server in servers()
    }
    running = postgres.running()
    report["postgres"] = {
        "url": f"postgresql://{c.HOST}:{postgres.port()}/",
        "pid": _postmaster_pid() if running else None,
        "answers": running,
    }
    return report


def _postmaster_pid() -> int | None:
    try:
        return int((postgres.data_dir() / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def reset() -> None:
    """Stop the servers and drop their state (the servers' venv is kept)."""
    down()
    postgres.drop()
    for folder in (c.STATE, c.LOGS, c.RUN):
        shutil.rmtree(folder, ignore_errors=True)
    c.CLOUDS_YAML.unlink(missing_ok=True)
    log(f"state dropped under {c.HOME}")


def purge() -> None:
    """Stop the servers and drop everything of this release's, outside the checkout too
    (``make clean``)."""
    reset()
    shutil.rmtree(c.OUTSIDE, ignore_errors=True)
    shutil.rmtree(c.VENV, ignore_errors=True)


def write_clouds_yaml() -> None:
    """clouds.yaml in the os-client-config format, one cloud per account."""
    clouds = {
        account.cloud: {
            "auth": {
                "auth_url": c.KEYSTONE_URL,
                "username": account.username,
                "password": account.password,
                "project_name": account.project,
                "user_domain_name": c.DOMAIN,
                "project_domain_name": c.DOMAIN,
            },
            "region_name": c.REGION,
            "interface": "public",
            "identity_api_version": 3,
        }
        for account in (c.ADMIN, c.DEMO, c.BENCH)
    }
    c.CLOUDS_YAML.write_text(yaml.safe_dump({"clouds": clouds}, sort_keys=False))

"""Where the dev cloud lives, which ports it uses, and its throwaway credentials."""

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Release:
    """Which Keystone and Glance the dev cloud runs: its requirements file, the date its
    packages are taken as of (None: the newest), and how far its ports are moved up from
    the newest release's, so that the dev clouds of two releases can run side by side."""

    name: str
    requirements: str
    uploaded_before: str | None
    port_offset: int


RELEASES = {
    release.name: release
    for release in (
        Release("newest", "requirements.txt", None, 0),
        # 2024.1 (Caracal, a SLURP release): Keystone 25 and Glance 28, with the packages
        # PyPI had the day after Glance 28.0.1.
        Release("2024.1", "requirements-2024.1.txt", "2024-04-10", 10),
    )
}
RELEASE_NAME = os.environ.get("DEVCLOUD_RELEASE", "newest")
if RELEASE_NAME not in RELEASES:
    raise SystemExit(f"DEVCLOUD_RELEASE={RELEASE_NAME!r}: not one of {', '.join(RELEASES)}")
RELEASE = RELEASES[RELEASE_NAME]

# Each release in a folder of its own: the newest in .devcloud/, another in .devcloud/<name>/.
_BASE = Path(os.environ.get("DEVCLOUD_HOME", ROOT / ".devcloud")).resolve()
HOME = _BASE if RELEASE.name == "newest" else _BASE / RELEASE.name
# What must live outside the checkout, one folder per release of it: PostgreSQL's cluster
# where its user cannot enter the checkout (devcloud/postgres.py), and the servers' venv
# of a release that cannot run from a path with spaces (below).
OUTSIDE = Path("/var/tmp") / (
    "glance-api-devcloud-" + hashlib.sha256(str(HOME).encode()).hexdigest()[:12]
)
# 2024.1's Keystone joins the paths of its database migrations with spaces (alembic's
# version_locations), so from a path with spaces its db_sync finds none and creates no
# table: its venv then lives outside the checkout.
VENV = OUTSIDE / "venv" if RELEASE.name == "2024.1" and " " in str(HOME) else HOME / "venv"
STATE = HOME / "state"
LOGS = HOME / "logs"
RUN = HOME / "run"
CLOUDS_YAML = HOME / "clouds.yaml"
REQUIREMENTS = Path(__file__).resolve().parent / RELEASE.requirements


def _port(name: str, default: int) -> int:
    return int(os.environ.get(f"DEVCLOUD_{name}_PORT", default + RELEASE.port_offset))


HOST = "127.0.0.1"
KEYSTONE_PORT = _port("KEYSTONE", 5000)
GLANCE_PORT = _port("GLANCE", 9292)
# Horizon 27 with glance_api in place of its /api/glance/ (tests/test_horizon.py): two
# servers, in the dashboard's legacy and direct upload modes.
HORIZON_PORT = _port("HORIZON", 8085)
HORIZON_DIRECT_PORT = _port("HORIZON_DIRECT", 8086)
# The same Horizon on its own /api/glance/ (benchmarks/panel.py's comparison).
HORIZON_OWN_PORT = _port("HORIZON_OWN", 8087)
# Below the ports the kernel gives outgoing connections (32768 and up): see postgres.py.
POSTGRES_PORT = _port("POSTGRES", 15432)
# memcached, as deployments give Horizon (devcloud/memcached.py)
MEMCACHED_PORT = _port("MEMCACHED", 11311)
KEYSTONE_URL = f"http://{HOST}:{KEYSTONE_PORT}/v3"
GLANCE_URL = f"http://{HOST}:{GLANCE_PORT}"
# Hosts Glance may fetch from (web-download, http locations); loopback for tests.
IMPORT_HOSTS = [
    h.strip()
    for h in os.environ.get("DEVCLOUD_IMPORT_HOSTS", "127.0.0.1,localhost").split(",")
    if h.strip()
]
REGION = "RegionOne"
DOMAIN = "Default"
GLANCE_WORKERS = int(os.environ.get("DEVCLOUD_GLANCE_WORKERS", "2"))
# Each image download or upload holds one of Glance's threads from first byte to last (the
# nginx path of deploy/ included): enough for the benchmarks' 16 downloads and the rest.
GLANCE_THREADS = int(os.environ.get("DEVCLOUD_GLANCE_THREADS", "16"))
KEYSTONE_WORKERS = int(os.environ.get("DEVCLOUD_KEYSTONE_WORKERS", "2"))


@dataclass(frozen=True)
class Account:
    """A Keystone user with a role in one project."""

    cloud: str
    username: str
    password: str
    project: str


# Throwaway passwords of a dev cloud that only listens on loopback.
ADMIN = Account("devcloud-admin", "admin", "devcloud-admin-pw", "admin")
DEMO = Account("devcloud-demo", "demo", "devcloud-demo-pw", "demo")
BENCH = Account("devcloud-bench", "bench", "devcloud-bench-pw", "bench")

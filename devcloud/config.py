"""Where the dev cloud lives, which ports it uses, and its throwaway credentials."""

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOME = Path(os.environ.get("DEVCLOUD_HOME", ROOT / ".devcloud")).resolve()
VENV = HOME / "venv"
STATE = HOME / "state"
LOGS = HOME / "logs"
RUN = HOME / "run"
CLOUDS_YAML = HOME / "clouds.yaml"
REQUIREMENTS = Path(__file__).resolve().parent / "requirements.txt"

HOST = "127.0.0.1"
KEYSTONE_PORT = int(os.environ.get("DEVCLOUD_KEYSTONE_PORT", "5000"))
GLANCE_PORT = int(os.environ.get("DEVCLOUD_GLANCE_PORT", "9292"))
# Horizon 27 with glance_api in place of its /api/glance/ (tests/test_horizon.py): two
# servers, in the dashboard's legacy and direct upload modes.
HORIZON_PORT = int(os.environ.get("DEVCLOUD_HORIZON_PORT", "8085"))
HORIZON_DIRECT_PORT = int(os.environ.get("DEVCLOUD_HORIZON_DIRECT_PORT", "8086"))
POSTGRES_PORT = int(os.environ.get("DEVCLOUD_POSTGRES_PORT", "55432"))
KEYSTONE_URL = f"http://{HOST}:{KEYSTONE_PORT}/v3"
GLANCE_URL = f"http://{HOST}:{GLANCE_PORT}"
# Hosts Glance may fetch from (web-download, http locations); loopback for tests.
IMPORT_HOSTS = [
    h.strip() for h in os.environ.get("DEVCLOUD_IMPORT_HOSTS", "127.0.0.1,localhost").split(",")
    if h.strip()
]
REGION = "RegionOne"
DOMAIN = "Default"
GLANCE_WORKERS = int(os.environ.get("DEVCLOUD_GLANCE_WORKERS", "2"))
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

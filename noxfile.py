"""``make compat``: the support matrix, each cell in a venv of its own (nox).

    .venv/bin/python -m nox                # every session, then the table
    .venv/bin/python -m nox -s "suite(django='4.2')"

Sessions:

- ``suite(django=...)``: the whole test suite (as ``make test`` runs it) on each Django
  LTS release the app supports, against the dev cloud (started by ``make compat``).
- ``release_2024_1``: the whole suite against the dev cloud of OpenStack 2024.1
  (``DEVCLOUD_RELEASE=2024.1``: Keystone 25, Glance 28).
- ``horizon(version=...)``: Horizon's browser tests (``tests/test_horizon.py``) on each
  Horizon release the dev cloud installs (``devcloud.horizon.HORIZONS``: 2024.1's 24.0.0
  to 27.0.0), each in a venv of its own with the packages of its day, the app installed
  into it; the versions in the table are that venv's.
- ``oldest``: the oldest combination, which ``make test`` also runs: Django 4.2 against
  the 2024.1 dev cloud, every test that runs in-process, and Horizon 24.0.0's browser
  tests (Horizon with the packages of its day; not the nginx stack, the benchmarks,
  schemathesis and the fresh clone).
- ``table``: the support table (docs/install.md), from what the sessions above last wrote under
  ``compat-results/`` (what passed, and when it ran).
"""

import datetime
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from devcloud.horizon import HORIZONS, home_of  # noqa: E402

RESULTS = ROOT / "compat-results"
SUPPORT_PAGE = ROOT / "docs" / "install.md"  # where the support table is
DJANGO = {"4.2": "Django>=4.2,<4.3", "5.2": "Django>=5.2,<5.3"}
TABLE_START = "<!-- support table: make compat writes it -->"
TABLE_END = "<!-- end of support table -->"

nox.options.sessions = ["suite", "release_2024_1", "horizon", "table"]
nox.options.reuse_existing_virtualenvs = True


def run_pytest(session: nox.Session, cell: str, *args: str, python: str = "python") -> None:
    """pytest with a JUnit report, then that report's counts in compat-results/<cell>.json
    (also when the tests fail)."""
    RESULTS.mkdir(exist_ok=True)
    report = RESULTS / f"{cell}.xml"
    try:
        session.run("python", "-m", "pytest", f"--junitxml={report}", *args, *session.posargs)
    finally:
        record(session, cell, report, python)


def record(session: nox.Session, cell: str, report: Path, python: str) -> None:
    """The cell's counts, and the versions ``python`` (the tests', or Horizon's) has."""
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    if report.exists():
        suite = ET.parse(report).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        total = int(suite.get("tests", 0))
        counts["failed"] = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        counts["skipped"] = int(suite.get("skipped", 0))
        counts["passed"] = total - counts["failed"] - counts["skipped"]
    versions = session.run(
        python,
        "-c",
        "import django, rest_framework, glanceclient, "
        "sys; print(django.__version__, rest_framework.__version__, "
        "glanceclient.__version__, sys.version.split()[0])",
        silent=True,
        external=True,
    ).split()
    (RESULTS / f"{cell}.json").write_text(
        json.dumps(
            {
                "cell": cell,
                **counts,
                "devcloud": session.env.get("DEVCLOUD_RELEASE", "newest"),
                "horizon": session.env.get("DEVCLOUD_HORIZON", "27.0.0"),
                "when": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "django": versions[0],
                "djangorestframework": versions[1],
                "python-glanceclient": versions[2],
                "python": versions[3],
            },
            indent=2,
        )
    )


@nox.session
@nox.parametrize("django", list(DJANGO))
def suite(session: nox.Session, django: str) -> None:
    session.install("-e", ".[test]", DJANGO[django])
    run_pytest(session, f"django-{django}")


@nox.session
def release_2024_1(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.env["DEVCLOUD_RELEASE"] = "2024.1"
    run_pytest(session, "devcloud-2024.1")


@nox.session
@nox.parametrize("version", list(HORIZONS))
def horizon(session: nox.Session, version: str) -> None:
    session.install("-e", ".[test]")
    session.env["DEVCLOUD_HORIZON"] = version
    run_pytest(
        session,
        f"horizon-{version}",
        "tests/test_horizon.py",
        python=str(home_of(version) / "venv" / "bin" / "python"),
    )


@nox.session
def oldest(session: nox.Session) -> None:
    session.install("-e", ".[test]", DJANGO["4.2"])
    session.env["DEVCLOUD_RELEASE"] = "2024.1"
    session.env["DEVCLOUD_HORIZON"] = "24.0.0"
    run_pytest(
        session,
        "oldest-django-4.2-horizon-24-devcloud-2024.1",
        # not the tests that start servers of their own (tests/conftest.py)
        "-m",
        "not servers",
    )


@nox.session(python=False)
def table(session: nox.Session) -> None:
    """Rewrite the support table (docs/install.md) from compat-results/*.json."""
    rows = [
        "| cell | dev cloud | Horizon | Django | DRF | glanceclient | Python | passed | "
        "failed | last run |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for path in sorted(RESULTS.glob("*.json")):
        cell = json.loads(path.read_text())
        rows.append(
            f"| {cell['cell']} | {cell.get('devcloud', 'newest')} | "
            f"{cell.get('horizon', '27.0.0')} | {cell['django']} | "
            f"{cell['djangorestframework']} | "
            f"{cell['python-glanceclient']} | {cell['python']} | {cell['passed']} | "
            f"{cell['failed']} | {cell['when']} |"
        )
    text = SUPPORT_PAGE.read_text()
    pattern = re.compile(re.escape(TABLE_START) + ".*?" + re.escape(TABLE_END), re.S)
    if not pattern.search(text):
        session.error(f"docs/install.md has no {TABLE_START} ... {TABLE_END} section")
    SUPPORT_PAGE.write_text(pattern.sub(lambda _: "\n".join([TABLE_START, *rows, TABLE_END]), text))
    session.log(f"docs/install.md: {len(rows) - 2} cells")

"""schemathesis over the whole OpenAPI schema, as the admin and as the demo user.

Its examples, coverage and fuzzing phases call every operation with valid and invalid
input against the project served as in production (gunicorn, two workers of eight
threads; ``benchmarks.common.ApiServer``) on the real dev cloud; the four checks must find nothing:
no 5xx, every status, content type and body as the schema documents it. Everything the
run creates in Glance is deleted afterwards.

``SCHEMATHESIS_EXAMPLES`` (default 10 per operation) and ``SCHEMATHESIS_SEED`` (default
fixed, so CI is repeatable; ``random`` for a new one) tune the run.
"""

import os
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from benchmarks.common import ApiServer

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
EXAMPLES = os.environ.get("SCHEMATHESIS_EXAMPLES", "10")
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261130")


def every_image(glance) -> set[str]:
    ids = set()
    for hidden in (False, True):
        ids |= {
            image["id"]
            for image in glance.images.list(filters={"visibility": "all", "os_hidden": hidden})
        }
    return ids


def _plain(value):
    """A namespace document without what Glance stamps on it (times, links)."""
    if isinstance(value, dict):
        return {
            key: _plain(item)
            for key, item in value.items()
            if key not in ("created_at", "updated_at", "self", "schema")
        }
    if isinstance(value, list):  # in an order of its own (Glance's is by time)
        return sorted(
            (_plain(item) for item in value),
            key=lambda item: str(item.get("name")) if isinstance(item, dict) else str(item),
        )
    return value


def every_namespace(glance) -> dict[str, dict]:
    """Every namespace in full, by name (as admin: it sees them all)."""
    names = [namespace["namespace"] for namespace in glance.metadefs_namespace.list()]
    return {
        name: _plain(
            glance.http_client.get(f"/v2/metadefs/namespaces/{urllib.parse.quote(name, safe='')}")[
                1
            ]
        )
        for name in names
    }


def _delete_namespace(glance, name: str) -> None:
    path = f"/v2/metadefs/namespaces/{urllib.parse.quote(name, safe='')}"
    held = glance.http_client.get(path)[1]
    if held.get("protected"):
        glance.http_client.put(path, data={**_plain(held), "protected": False})
    glance.http_client.delete(path)


@pytest.fixture
def glance_left_as_found(glance_admin):
    """Deletes every image and metadefs namespace that appeared during the test (as admin:
    it sees them all), and puts back every namespace the run deleted or changed (the
    admin's fuzzing may do both, as Glance's policy lets an admin), as it was."""
    before = every_image(glance_admin)
    namespaces = every_namespace(glance_admin)
    yield
    for image_id in every_image(glance_admin) - before:
        try:
            image = glance_admin.images.get(image_id)
            if image["protected"]:
                glance_admin.images.update(image_id, protected=False)
            if image["status"] == "deactivated":
                glance_admin.images.reactivate(image_id)
            glance_admin.images.delete(image_id)
        except Exception:  # gone meanwhile
            pass
    now = every_namespace(glance_admin)
    for name in set(now) - set(namespaces):
        _delete_namespace(glance_admin, name)
    for name, document in namespaces.items():
        if now.get(name) != document:
            if name in now:
                _delete_namespace(glance_admin, name)
            glance_admin.http_client.post("/v2/metadefs/namespaces", data=document)
    assert every_image(glance_admin) - before == set()
    assert every_namespace(glance_admin) == namespaces


@pytest.fixture(scope="module")
def server():
    with ApiServer() as running:
        yield running


def test_schemathesis_finds_nothing_as_admin_then_as_demo(
    admin_token, demo_token, server, glance_left_as_found, tmp_path
):
    """One run after the other, each with one worker: two requests racing on one image can
    make Glance itself fail (two property inserts at once break its unique key, and the
    admin sees, and so fuzzes, the demo project's images too)."""
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    assert st, "schemathesis is a test dependency (pip install -e '.[test]')"
    runs = {}
    for identity, token in (("admin", admin_token), ("demo", demo_token)):
        argv = [
            st,
            "run",
            f"{server.url}/api/schema/",
            "--header",
            f"X-Auth-Token: {token}",
            "--checks",
            CHECKS,
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            EXAMPLES,
            "--workers",
            "1",
            "--no-color",
            # a 2-core machine running Glance, Keystone and PostgreSQL can be slow;
            # what is checked is the answers, not their speed
            "--request-timeout",
            "30",
            # The event stream: on this WSGI server its one answer is the documented 501
            # (schemathesis counts any 5xx as a server error), and on the asynchronous
            # server it is a stream without end, which schemathesis would read until its
            # time-out. Its answers are checked against the schema by the contract test
            # (the 501) and tests/test_watching_stack.py (the stream).
            "--exclude-path",
            "/api/glance/images/events/",
            "--report-dir",
            str(tmp_path / identity),
        ]
        if SEED != "random":
            argv += ["--seed", SEED]
        runs[identity] = (token, argv)
    ARTIFACTS.mkdir(exist_ok=True)
    failed = {}
    for identity, (token, argv) in runs.items():
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        output, _ = process.communicate(timeout=600)
        assert token not in output
        (ARTIFACTS / f"schemathesis-{identity}.txt").write_text(output)
        summary = output.split("Test cases:")[-1]
        if process.returncode != 0 or "failure" in summary:
            failed[identity] = output[-20000:]
    assert not failed, "\n\n".join(f"--- as {who} ---\n{out}" for who, out in failed.items())

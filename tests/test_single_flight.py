"""Single-flight cache fills (issue 26): when the cache is cold, one caller fetches a
namespace list, the resource types or Glance's versions; the others wait for it. Counted
in Glance's own access log."""

import threading

import pytest
from rest_framework.test import APIClient

CALLERS = 30


def together(token: str, path: str, params: dict | None = None) -> list[int]:
    """``CALLERS`` requests at once (as near as threads start), each with a client of its
    own; their statuses."""
    barrier, statuses = threading.Barrier(CALLERS), []

    def call():
        client = APIClient()
        client.credentials(HTTP_X_AUTH_TOKEN=token)
        barrier.wait(30)
        statuses.append(client.get(path, params or {}).status_code)

    threads = [threading.Thread(target=call) for _ in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return statuses


@pytest.fixture
def validated(admin_client):
    """The admin's token validated once already (what is counted is Glance's calls)."""
    assert admin_client.get("/api/glance/info/").status_code == 200


@pytest.mark.parametrize(
    "path, params, glance_call",
    [
        (
            "/api/glance/metadefs/namespaces/",
            {"resource_type": "OS::Glance::Image"},
            "GET /v2/metadefs/namespaces?",
        ),
        ("/api/glance/metadefs/resourcetypes/", None, "GET /v2/metadefs/resource_types "),
        ("/api/glance/version/", None, "GET /versions "),
    ],
)
def test_thirty_cold_callers_make_one_fill(
    admin_token, validated, glance_log, path, params, glance_call
):
    glance_log.mark()
    assert together(admin_token, path, params) == [200] * CALLERS
    assert glance_log.count(glance_call, 1) == 1

"""healthz/ and readyz/: no token; a 503 names what is not ready."""

import pytest

from devcloud import config as devcloud
from glance_api import clients


def test_healthz_answers_without_a_token(anon_client):
    response = anon_client.get("/api/glance/healthz/")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_checks_keystone_the_cache_and_the_glance_in_use(anon_client, admin_client):
    clients.seen_endpoints.clear()
    admin_client.get("/api/glance/version/")  # the process now knows its Glance endpoint
    response = anon_client.get("/api/glance/readyz/")
    assert response.status_code == 200, response.content
    checks = response.json()["checks"]
    assert checks["cache"] == checks["keystone"] == "ok"
    assert checks["glance"] == "ok"
    assert "http" not in response.content.decode()  # no URL given away


def test_readyz_names_keystone_when_it_is_down(anon_client, settings, closed_port):
    settings.GLANCE_API = {"KEYSTONE_URL": f"http://127.0.0.1:{closed_port}/v3"}
    response = anon_client.get("/api/glance/readyz/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready" and body["checks"]["keystone"].startswith("unreachable")
    assert body["checks"]["cache"] == "ok"


def test_readyz_names_glance_when_it_is_down_and_logs_its_url(
    anon_client, settings, closed_port, caplog
):
    settings.GLANCE_API = {
        "KEYSTONE_URL": devcloud.KEYSTONE_URL,
        "GLANCE_URL": f"http://127.0.0.1:{closed_port}",
    }
    response = anon_client.get("/api/glance/readyz/")
    assert response.status_code == 503
    assert response.json()["checks"]["glance"] == (
        "unreachable (ConnectFailure) (1 of 1 endpoints)"
    )
    assert str(closed_port) not in response.content.decode()
    assert f"Glance at http://127.0.0.1:{closed_port} is unreachable" in caplog.text


def test_readyz_probes_once_per_few_seconds_whoever_asks(
    anon_client, admin_client, glance_log, keystone_log
):
    """No token is needed: many callers cost one probe per READINESS_SECONDS (Glance's and
    Keystone's own access logs count the probes)."""
    from glance_api import clients, health

    # one endpoint to probe: the catalog's (earlier tests may have used others, which
    # readyz would probe too)
    clients.seen_endpoints.clear()

    admin_client.get("/api/glance/version/")
    health._last["at"] = None
    glance, keystone = glance_log, keystone_log
    glance.mark()
    keystone.mark()
    # Only the probes of these requests count (the servers' logs name each call's global
    # request id): a background refresh of Glance's versions document, started by an
    # earlier request, may ask Glance for /versions in the same moment (it did, in CI).
    ids = set()
    for _ in range(10):
        answer = anon_client.get("/api/glance/readyz/")
        assert answer.status_code == 200
        ids.add(answer["X-OpenStack-Request-ID"])
    assert _probes(glance, '"GET /versions ', ids) == 1
    assert _probes(keystone, '"GET /v3 ', ids) == 1
    health._last["at"] -= health.READINESS_SECONDS  # the few seconds have passed
    ids.add(anon_client.get("/api/glance/readyz/")["X-OpenStack-Request-ID"])
    assert _probes(glance, '"GET /versions ', ids, at_least=2) == 2


def _probes(log, fragment: str, request_ids: set, at_least: int = 1) -> int:
    """Lines of ``log`` with ``fragment`` made for one of ``request_ids``."""
    log.count(fragment, at_least)  # written (waited for)
    with open(log.path, "rb") as text:
        text.seek(log.start)
        lines = text.read().decode(errors="replace").splitlines()
    return sum(1 for line in lines if fragment in line and line.split()[-1] in request_ids)


def test_readyz_names_the_cache_when_it_fails(anon_client, settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings.CACHES = {
        **settings.CACHES,
        "broken": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(blocker / "cache"),
        },
    }
    settings.GLANCE_API = {"KEYSTONE_URL": devcloud.KEYSTONE_URL, "CACHE_ALIAS": "broken"}
    response = anon_client.get("/api/glance/readyz/")
    assert response.status_code == 503
    assert response.json()["checks"]["cache"].startswith("unreachable")


@pytest.mark.parametrize("path", ["/api/glance/healthz/", "/api/glance/readyz/"])
def test_health_paths_are_documented(anon_client, path):
    schema = anon_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert path in schema.json()["paths"]

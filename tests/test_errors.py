"""Glance and Keystone failures, caused for real on loopback, become clear API errors."""

import logging

import pytest

VERSION = "/api/glance/version/"


@pytest.fixture
def glance_at(settings):
    def point(url: str, **more):
        settings.GLANCE_API = {**settings.GLANCE_API, "GLANCE_URL": url, **more}

    return point


def test_glance_refusing_connections_is_503(demo_client, glance_at, closed_port):
    glance_at(f"http://127.0.0.1:{closed_port}")
    response = demo_client.get(VERSION)
    assert response.status_code == 503
    assert response.json() == {"detail": "Glance is unreachable.", "code": "service_unavailable"}
    assert response["Retry-After"] == "5"


def test_glance_not_answering_is_504(demo_client, glance_at, silent_port):
    glance_at(f"http://127.0.0.1:{silent_port}", TIMEOUT=1)
    response = demo_client.get(VERSION)
    assert response.status_code == 504
    assert response.json() == {
        "detail": "Glance did not answer in time.",
        "code": "gateway_timeout",
    }


def test_glance_5xx_is_503_with_retry_after_without_its_text(
    demo_client, glance_at, failing_server, caplog
):
    """What Glance answers while its database restarts (a 500): try again shortly."""
    glance_at(failing_server)
    with caplog.at_level(logging.WARNING, logger="glance_api"):
        response = demo_client.get(VERSION)
    assert response.status_code == 503
    assert response.json() == {
        "detail": "Glance failed to answer the request.",
        "code": "service_unavailable",
    }
    assert response["Retry-After"] == "5"
    assert "secret internal detail" not in response.content.decode()
    assert "Glance answered 500" in caplog.text
    # logged once: where it was translated, not again by the exception handler
    upstream = [r for r in caplog.records if r.name.startswith("glance_api")]
    assert len(upstream) == 1, [r.getMessage() for r in upstream]


def test_catalog_without_the_region_is_503(demo_client, settings):
    settings.GLANCE_API = {**settings.GLANCE_API, "REGION_NAME": "NoSuchRegion"}
    response = demo_client.get(VERSION)
    assert response.status_code == 503
    assert "catalog has no Glance endpoint" in response.json()["detail"]


def test_keystone_refusing_connections_is_503(anon_client, settings, closed_port, demo_token):
    settings.GLANCE_API = {"KEYSTONE_URL": f"http://127.0.0.1:{closed_port}/v3"}
    response = anon_client.get(VERSION, HTTP_X_AUTH_TOKEN=demo_token)
    assert response.status_code == 503
    assert response.json() == {"detail": "Keystone is unreachable.", "code": "service_unavailable"}


def test_keystone_not_answering_is_504(anon_client, settings, silent_port, demo_token):
    settings.GLANCE_API = {"KEYSTONE_URL": f"http://127.0.0.1:{silent_port}/v3", "TIMEOUT": 1}
    response = anon_client.get(VERSION, HTTP_X_AUTH_TOKEN=demo_token)
    assert response.status_code == 504
    assert response.json()["detail"] == "Keystone did not answer in time."


def test_keystone_5xx_is_503_with_retry_after(anon_client, settings, failing_server, demo_token):
    settings.GLANCE_API = {"KEYSTONE_URL": failing_server + "/v3"}
    response = anon_client.get(VERSION, HTTP_X_AUTH_TOKEN=demo_token)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "secret internal detail" not in response.content.decode()

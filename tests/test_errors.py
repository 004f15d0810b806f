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


# --- the one error map (issue 33) ---------------------------------------------------


def _glance_error(status_code: int, message: str):
    """glanceclient's exception for a Glance answer (as glanceclient.exc.from_response
    makes it; the error map reads nothing else)."""
    from glanceclient import exc as glance_exc

    kind = {403: glance_exc.HTTPForbidden, 404: glance_exc.HTTPNotFound}[status_code]
    return kind(f"{status_code} Error: {message}")


@pytest.mark.parametrize(
    "status_code, message, expected",
    [
        # Glance's words are all that tells these apart from a refusal or a missing image
        (403, "Cannot delete image data from the only store containing image data.", 409),
        (403, "You are not authorized to complete this action.", 403),
        (404, "Caching via API is not supported at this site.", 501),
        (404, "No image found with ID x", 404),
        # the stores' discovery call on a single-store Glance: its 404 is its own answer
        # (services.stores reads it), not a cache that is missing
        (404, "Multi backend is not supported at this site.", 404),
    ],
)
def test_glance_answers_that_misread_their_status_are_mapped_in_the_one_map(
    status_code, message, expected
):
    from glance_api import exceptions

    error = exceptions.api_error(_glance_error(status_code, message), "Glance")
    assert error.status_code == expected


def test_every_status_of_the_apis_errors_is_in_the_error_statuses():
    import inspect

    from rest_framework import exceptions as drf

    from glance_api import exceptions

    statuses = {
        cls.status_code
        for module in (exceptions, drf)
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, drf.APIException) and isinstance(cls.status_code, int)
    }
    statuses |= {make("x").status_code for make in exceptions._CLIENT_ERRORS.values()}
    statuses.discard(500)  # APIException's own default, which nothing raises
    assert statuses == set(exceptions.ERROR_STATUSES)


def test_nginx_answers_a_refused_upload_with_each_status_of_the_error_map(tmp_path):
    """nginx's @upload_refused, as deploy/stack.py writes it: one branch per status of
    exceptions.ERROR_STATUSES, each answering the status it matches."""
    import re

    from deploy import stack
    from glance_api.exceptions import ERROR_STATUSES

    conf = stack.nginx_conf(2)
    block = conf[conf.index("location @upload_refused") :]
    block = block[: block.index("\n        }\n")]
    branches = re.findall(
        r"if \(\$refusal_status = (\d+)\) \{ return (\d+) \$refusal_body; \}", block
    )
    assert [int(tested) for tested, _ in branches] == list(ERROR_STATUSES)
    assert all(tested == answered for tested, answered in branches)
    # and nginx takes the whole configuration, with what it includes
    (tmp_path / "nginx.conf").write_text(conf.replace(str(stack.HOME / "nginx"), str(tmp_path)))
    for include in stack.NGINX_INCLUDES:
        (tmp_path / include.name).write_text(include.read_text())
    checked = stack.subprocess.run(
        [stack._which("nginx"), "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr

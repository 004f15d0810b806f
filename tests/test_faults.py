"""Faults of the parts the app depends on (issue 26), one at a time and at rest; under load
they are benchmarks/chaos.py's (make chaos, and its quick run in test_benchmarks).

- Glance cannot answer (refusing connections, or failing as it does while its database
  restarts): a 503 with Retry-After; cached namespace lists, resource types and versions
  are still served, past their life, and Glance is asked again after Retry-After.
- Keystone cannot answer: a token validated before keeps working (TOKEN_STALE_SECONDS);
  a new one, and a sign-in, get a 503 with Retry-After.
- Glance refuses a token the app took (its keystonemiddleware does so while it cannot
  reach Keystone): Keystone is asked; a token it takes is a 503, not a 401.

Glance is the dev cloud's, behind a proxy on loopback that passes every request on, or
answers as a failing Glance does; Keystone is the dev cloud's, or a closed port.
"""

import http.client
import http.server
import logging
import threading
import time

import pytest

from devcloud import config as devcloud
from tests.helpers import GlanceProxy

API = "/api/glance/"
NAMESPACES = API + "metadefs/namespaces/?resource_type=OS::Glance::Image"


class _SwitchableGlance(GlanceProxy):
    """The dev cloud's Glance, or what a failing one answers (``server.mode``: ``pass``,
    ``500``, ``401``, or ``closed``: no answer); ``server.calls`` counts the requests that
    reached it, and ``server.asked_at`` says when each came (``time.monotonic()``)."""

    def relay(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        mode = self.server.mode
        if mode == "closed":  # stopped: kept connections close unanswered
            self.close_connection = True
            return
        self.server.calls.append((mode, self.command, self.path))
        self.server.asked_at.append(time.monotonic())
        if mode == "pass":
            self.forward(body)
            return
        data = b'{"message": "failing", "code": %s}' % mode.encode()
        self.send_response(int(mode))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def glance(app_settings, clouds):
    """The proxy the app calls as its Glance (``GLANCE_URL``)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SwitchableGlance)
    server.mode, server.calls, server.asked_at = "pass", [], []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app_settings.GLANCE_API = {
        **app_settings.GLANCE_API,
        "GLANCE_URL": f"http://127.0.0.1:{server.server_address[1]}",
    }
    yield server
    server.shutdown()
    server.server_close()


def _unavailable(response, detail: str) -> None:
    assert response.status_code == 503, response.content
    assert response.json() == {"detail": detail, "code": "service_unavailable"}
    assert response["Retry-After"] == "5"


@pytest.mark.parametrize("failure", ["500", "refused"])
def test_cached_metadefs_are_served_while_glance_cannot_answer(
    glance, demo_client, app_settings, failure
):
    app_settings.GLANCE_API = {
        **app_settings.GLANCE_API,
        "METADEFS_CACHE_SECONDS": 1,
        "VERSIONS_CACHE_SECONDS": 1,
    }
    fresh = {
        path: demo_client.get(path)
        for path in (NAMESPACES, API + "metadefs/resourcetypes/", API + "version/")
    }
    assert all(answer.status_code == 200 for answer in fresh.values())
    time.sleep(1.2)  # every entry is past its life
    if failure == "500":  # as Glance answers while its database restarts
        glance.mode = "500"
    else:  # Glance stopped: its port refuses connections
        glance.mode = "closed"
        glance.shutdown()
        glance.server_close()
    calls = len(glance.calls)
    for _ in range(3):
        for path, answer in fresh.items():
            again = demo_client.get(path)
            assert again.status_code == 200, (path, again.content)
            assert again.json() == answer.json()
    if failure == "500":
        # Glance was asked once per entry, then not again before Retry-After
        assert len(glance.calls) - calls == 2 + 1  # the namespaces list, types, versions
        expected = "Glance failed to answer the request."
    else:
        expected = "Glance is unreachable."
    # what is not cached: the 503 that says so
    _unavailable(demo_client.get(API + "images/"), expected)


def test_glance_is_asked_again_after_retry_after(glance, demo_client, app_settings):
    app_settings.GLANCE_API = {**app_settings.GLANCE_API, "METADEFS_CACHE_SECONDS": 1}
    first = demo_client.get(NAMESPACES)
    time.sleep(1.2)
    glance.mode = "500"
    assert demo_client.get(NAMESPACES).json() == first.json()  # stale; Glance asked once
    glance.mode = "pass"
    failed_at, seen = time.monotonic(), len(glance.calls)

    def asked() -> float | None:
        """When Glance was first asked for the namespaces again (its proxy's clock: the
        request that asks waits for every namespace, which a busy machine makes slow)."""
        return next(
            (
                glance.asked_at[seen + i]
                for i, (_, _, path) in enumerate(glance.calls[seen:])
                if "/metadefs/namespaces" in path
            ),
            None,
        )

    while asked() is None:
        assert demo_client.get(NAMESPACES).status_code == 200
        assert time.monotonic() - failed_at < 30, "Glance was not asked again"
        time.sleep(0.2)
    # not before Retry-After (5 s), and soon after it
    assert 4 < asked() - failed_at < 5 + 1


def test_a_cold_entry_while_glance_fails_is_a_503(glance, demo_client):
    glance.mode = "500"
    _unavailable(demo_client.get(NAMESPACES), "Glance failed to answer the request.")


def test_a_validated_token_keeps_working_while_keystone_cannot_answer(
    anon_client, app_settings, clouds, closed_port, fresh_demo_token, demo_token
):
    from glance_api import keystone

    app_settings.GLANCE_API = {
        **app_settings.GLANCE_API,
        "TOKEN_CACHE_SECONDS": 1,
        "TOKEN_STALE_SECONDS": 3,
    }
    images = API + "images/"
    assert anon_client.get(images, HTTP_X_AUTH_TOKEN=demo_token).status_code == 200
    time.sleep(1.2)  # the validation is past TOKEN_CACHE_SECONDS
    keystone_url = app_settings.GLANCE_API["KEYSTONE_URL"]
    app_settings.GLANCE_API = {
        **app_settings.GLANCE_API,
        "KEYSTONE_URL": f"http://127.0.0.1:{closed_port}/v3",
    }
    # Glance (which validates it too) knows the token: the request goes through
    answer = anon_client.get(images, HTTP_X_AUTH_TOKEN=demo_token)
    assert answer.status_code == 200, answer.content
    # a token never validated: Keystone is needed
    _unavailable(
        anon_client.get(images, HTTP_X_AUTH_TOKEN=fresh_demo_token), "Keystone is unreachable."
    )
    time.sleep(3)  # past TOKEN_STALE_SECONDS: the old validation is no longer taken
    keystone._keystone_failed["until"] = 0.0
    _unavailable(anon_client.get(images, HTTP_X_AUTH_TOKEN=demo_token), "Keystone is unreachable.")
    app_settings.GLANCE_API = {**app_settings.GLANCE_API, "KEYSTONE_URL": keystone_url}


@pytest.fixture
def strict_keystone(clouds, tmp_path):
    """A second Keystone of the dev cloud (its database and keys, a port of its own) whose
    policy lets only services and admins validate tokens; its URL. (The dev cloud's own
    Keystone is left alone: Keystone 25's oslo.policy, 2024.1's, broke on a policy file
    changed under it.)"""
    from devcloud import cloud
    from devcloud.ports import free_port

    keystone, _ = cloud.servers()
    policy = tmp_path / "policy.yaml"
    policy.write_text('"identity:validate_token": "rule:service_or_admin"\n')
    conf = tmp_path / "keystone.conf"
    conf.write_text(
        cloud.keystone_conf().read_text() + f"\n[oslo_policy]\npolicy_file = {policy}\n"
    )
    strict = cloud.Server(
        "keystone-strict",
        keystone.app,
        free_port(),
        1,
        {**keystone.env, "OS_KEYSTONE_CONFIG_FILES": str(conf)},
    )
    strict.start()
    try:
        strict.wait()
        yield f"{strict.url.rstrip('/')}/v3"
    finally:
        strict.stop()


def test_keystone_refusing_a_token_its_own_validation_is_a_502_not_the_callers_403(
    anon_client, app_settings, strict_keystone, fresh_demo_token, demo_token, caplog
):
    """Keystone's policy lets a token validate itself; a 403 to that (a policy changed
    from its default, or one Keystone has not loaded yet as it starts: make chaos's
    Keystone restart met one) is Keystone failing, not the caller lacking a permission.
    A validated token keeps working (its validation is served stale); a new one is a 502
    that names the policy. The refusal is a real Keystone's, with that policy."""
    from glance_api import keystone

    app_settings.GLANCE_API = {
        **app_settings.GLANCE_API,
        "TOKEN_CACHE_SECONDS": 1,
        "TOKEN_STALE_SECONDS": 30,
    }
    images = API + "images/"
    assert anon_client.get(images, HTTP_X_AUTH_TOKEN=demo_token).status_code == 200
    time.sleep(1.2)  # the validation is past TOKEN_CACHE_SECONDS
    keystone_url = app_settings.GLANCE_API["KEYSTONE_URL"]
    app_settings.GLANCE_API = {**app_settings.GLANCE_API, "KEYSTONE_URL": strict_keystone}
    with caplog.at_level(logging.WARNING, logger="glance_api.keystone"):
        kept = anon_client.get(images, HTTP_X_AUTH_TOKEN=demo_token)
        new = anon_client.get(images, HTTP_X_AUTH_TOKEN=fresh_demo_token)
    assert kept.status_code == 200, kept.content
    assert new.status_code == 502, new.content
    assert new.json()["code"] == "bad_gateway"
    assert "identity:validate_token" in new.json()["detail"]
    assert "identity:validate_token" in caplog.text
    app_settings.GLANCE_API = {**app_settings.GLANCE_API, "KEYSTONE_URL": keystone_url}
    assert anon_client.get(images, HTTP_X_AUTH_TOKEN=fresh_demo_token).status_code == 200
    keystone._keystone_failed["until"] = 0.0  # stale validations no longer taken at once


def test_a_sign_in_while_keystone_cannot_answer_is_a_503(client, app_settings, closed_port):
    app_settings.GLANCE_API = {
        **app_settings.GLANCE_API,
        "KEYSTONE_URL": f"http://127.0.0.1:{closed_port}/v3",
    }
    page = client.get("/api-auth/login/")
    answer = client.post(
        "/api-auth/login/",
        {
            "username": devcloud.DEMO.username,
            "password": devcloud.DEMO.password,
            "csrfmiddlewaretoken": page.cookies["csrftoken"].value,
        },
    )
    assert answer.status_code == 503
    assert answer["Retry-After"] == "5"
    assert "Keystone is unreachable." in answer.content.decode()


def test_glances_401_of_a_token_keystone_takes_is_a_503(glance, demo_client, keystone_log):
    """Glance's keystonemiddleware (delay_auth_decision, as Glance configures it) answers
    401 to every token it cannot validate while Keystone is out of its reach."""
    assert demo_client.get(API + "images/").status_code == 200
    glance.mode = "401"
    keystone_log.mark()
    _unavailable(
        demo_client.get(API + "images/"),
        "Glance could not validate the token (it may not reach Keystone for now); "
        "the token is valid: try again shortly.",
    )
    assert keystone_log.count("GET /v3/auth/tokens", 1) == 1  # Keystone was asked, once
    glance.mode = "pass"
    assert demo_client.get(API + "images/").status_code == 200  # the token still works


def test_glances_401_of_a_revoked_token_is_a_401(
    glance, anon_client, demo_session, fresh_demo_token
):
    images = API + "images/"
    assert anon_client.get(images, HTTP_X_AUTH_TOKEN=fresh_demo_token).status_code == 200
    demo_session.session.delete(  # revoked in Keystone; the app's validation is cached
        devcloud.KEYSTONE_URL + "/auth/tokens",
        headers={"X-Auth-Token": fresh_demo_token, "X-Subject-Token": fresh_demo_token},
    )
    glance.mode = "401"
    answer = anon_client.get(images, HTTP_X_AUTH_TOKEN=fresh_demo_token)
    assert answer.status_code == 401
    assert answer.json()["detail"] == "The token is invalid, expired or revoked."


@pytest.mark.parametrize(
    "mode, said",
    [
        ("500", "Glance failed to answer the request."),
        # Glance's keystonemiddleware refuses every token while Keystone restarts (make
        # chaos's Keystone restart: this was a traceback in gunicorn's log)
        ("401", "Glance did not accept the token"),
    ],
)
def test_a_background_refresh_glance_fails_logs_a_line_not_a_traceback(
    glance, demo_client, app_settings, caplog, mode, said
):
    app_settings.GLANCE_API = {**app_settings.GLANCE_API, "METADEFS_CACHE_SECONDS": 2}
    first = demo_client.get(NAMESPACES)
    time.sleep(1.1)  # past half its life: served, and refreshed in the background
    glance.mode = mode
    with caplog.at_level(logging.WARNING, logger="glance_api"):
        assert demo_client.get(NAMESPACES).json() == first.json()
        deadline = time.monotonic() + 5
        while not [r for r in caplog.records if "Could not refresh" in r.getMessage()]:
            assert time.monotonic() < deadline, "the refresh logged nothing"
            time.sleep(0.1)
    refresh = next(r for r in caplog.records if "Could not refresh" in r.getMessage())
    assert said in refresh.getMessage()
    assert not refresh.exc_info  # a line: Glance failing is no bug of the app's


# --- connections a server may be closing ----------------------------------------------


class _KeepAliveServer(http.server.ThreadingHTTPServer):
    """Answers every GET and POST with 204 over HTTP/1.1 keep-alive, counting the
    connections it is opened."""

    daemon_threads = True
    connections = 0

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            self.server.connections += 1

        def _answer(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(204)
            self.end_headers()

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass


def test_a_pooled_connection_idle_past_the_limit_is_not_used_again():
    """A server closes an idle keep-alive connection on its own clock (gunicorn after 2 s):
    a POST sent on it as it does is reset, and cannot be sent again. The chaos run's
    Keystone restart caught one (issue 33). Past IDLE_CONNECTION_SECONDS a connection is
    opened anew; within it, one is used again."""
    from glance_api.clients import session as client_session

    server = _KeepAliveServer(("127.0.0.1", 0), _KeepAliveServer.Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        http_session = client_session.shared_session()
        for _ in range(3):  # at once: the one connection, used again
            http_session.post(url, json={}, authenticated=False)
        assert server.connections == 1
        time.sleep(client_session.IDLE_CONNECTION_SECONDS + 0.3)
        http_session.post(url, json={}, authenticated=False)
        assert server.connections == 2
    finally:
        server.shutdown()
        server.server_close()

"""Both ways in, against the real Keystone: X-Auth-Token and the browsable API's sign-in."""

import logging
import secrets
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import caches
from django.urls import reverse
from keystoneauth1 import access

from devcloud import config as devcloud
from glance_api import keystone
from glance_api.auth import SESSION_TOKEN_KEY
from glance_api.conf import settings as app_settings
from tests.helpers import API

VERSION = "/api/glance/version/"


def test_version_without_identity_is_401_json(anon_client):
    response = anon_client.get(VERSION)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }
    assert response["WWW-Authenticate"].startswith("Keystone uri=")


def test_api_root_without_identity_is_401(anon_client):
    assert anon_client.get("/api/glance/").status_code == 401


def test_token_demo_reads_version(demo_client):
    response = demo_client.get(VERSION)
    assert response.status_code == 200
    assert response.json()["version"] == "2"


@pytest.mark.parametrize("token", ["not-a-token", "gAAAAABo" + "x" * 180])
def test_token_unknown_is_401(anon_client, clouds, token):
    response = anon_client.get(VERSION, HTTP_X_AUTH_TOKEN=token)
    assert response.status_code == 401
    assert response.json() == {
        "detail": "The token is invalid, expired or revoked.",
        "code": "authentication_failed",
    }


@pytest.mark.parametrize("token", ["two words", "tab\there", "x" * 9000, "caf\u00e9"])
def test_token_malformed_is_401(anon_client, token):
    response = anon_client.get(VERSION, HTTP_X_AUTH_TOKEN=token)
    assert response.status_code == 401
    assert response.json()["detail"] == "The token is malformed."


def test_token_revoked_is_401(anon_client, demo_session, fresh_demo_token):
    assert anon_client.get(VERSION, HTTP_X_AUTH_TOKEN=fresh_demo_token).status_code == 200
    demo_session.delete(
        devcloud.KEYSTONE_URL + "/auth/tokens", headers={"X-Subject-Token": fresh_demo_token}
    )
    # The revocation shows once the cached validations (shared and this process's) are gone.
    caches["default"].clear()
    keystone.local_validations.clear()
    response = anon_client.get(VERSION, HTTP_X_AUTH_TOKEN=fresh_demo_token)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_token_validation_is_cached(anon_client, settings, demo_token):
    """A second request is answered from the cache: with Keystone gone, it still passes."""
    assert anon_client.get(VERSION, HTTP_X_AUTH_TOKEN=demo_token).status_code == 200
    settings.GLANCE_API = {**settings.GLANCE_API, "KEYSTONE_URL": "http://127.0.0.1:9/v3"}
    assert anon_client.get(VERSION, HTTP_X_AUTH_TOKEN=demo_token).status_code == 200


def test_token_validation_is_never_kept_past_the_tokens_expiry(demo_token):
    """With TOKEN_CACHE_SECONDS at 60, a token that expires in 2 s is cached for no longer:
    a hit in the process's own cache is then valid without parsing the expiry again."""
    body = keystone._fetch_token(demo_token)
    expires = datetime.now(UTC) + timedelta(seconds=2)
    body["token"]["expires_at"] = expires.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    keystone._remember(access.create(body=body, auth_token=demo_token))
    assert keystone.validate_token(demo_token).expires == expires  # served from the cache
    time.sleep(2.1)
    key = keystone._cache_key(demo_token)
    assert keystone.local_validations.get(key) is None
    assert caches["default"].get(key) is None
    assert keystone.validate_token(demo_token).expires > expires  # Keystone's own answer


def test_token_cache_off_asks_keystone_every_time(anon_client, settings, demo_token, closed_port):
    settings.GLANCE_API = {**settings.GLANCE_API, "TOKEN_CACHE_SECONDS": 0}
    assert anon_client.get(VERSION, HTTP_X_AUTH_TOKEN=demo_token).status_code == 200
    settings.GLANCE_API = {
        **settings.GLANCE_API,
        "KEYSTONE_URL": f"http://127.0.0.1:{closed_port}/v3",
    }
    assert anon_client.get(VERSION, HTTP_X_AUTH_TOKEN=demo_token).status_code == 503


def test_token_cache_never_outlives_the_token():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert keystone.cache_seconds(now + timedelta(hours=1), now, 60) == 60
    assert keystone.cache_seconds(now + timedelta(seconds=20), now, 60) == 20
    assert keystone.cache_seconds(now - timedelta(seconds=5), now, 60) == 0
    assert keystone.cache_seconds(now + timedelta(hours=1), now, 0) == 0


def test_token_unscoped_is_401(anon_client, clouds):
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3

    unscoped = ks_session.Session(
        auth=v3.Password(
            auth_url=devcloud.KEYSTONE_URL,
            username=devcloud.ADMIN.username,  # admin has no default project
            password=devcloud.ADMIN.password,
            user_domain_name=devcloud.DOMAIN,
            unscoped=True,
        )
    ).get_token()
    response = anon_client.get(VERSION, HTTP_X_AUTH_TOKEN=unscoped)
    assert response.status_code == 401
    assert response.json()["detail"] == "The token is not scoped to a project."


# --- the browsable API's sign-in ----------------------------------------------


def sign_in(client, **fields):
    return client.post(reverse("rest_framework:login"), fields)


@pytest.mark.django_db
def test_login_page_asks_for_keystone_credentials(client):
    page = client.get(reverse("rest_framework:login")).content.decode()
    for field in ("username", "password", "project", "domain"):
        assert f'name="{field}"' in page


@pytest.mark.django_db
def test_session_login_then_version(client, clouds):
    response = sign_in(
        client,
        username=devcloud.DEMO.username,
        password=devcloud.DEMO.password,
        project=devcloud.DEMO.project,
        domain=devcloud.DOMAIN,
    )
    assert response.status_code == 302
    version = client.get(VERSION, HTTP_ACCEPT="application/json")
    assert version.status_code == 200
    assert version.json()["version"] == "2"
    page = client.get(VERSION, HTTP_ACCEPT="text/html").content.decode()
    assert "demo (demo)" in page  # the browsable API names the signed-in user


@pytest.mark.django_db
def test_session_login_without_project_uses_the_default_project(client, clouds):
    sign_in(client, username=devcloud.DEMO.username, password=devcloud.DEMO.password)
    assert client.get(VERSION, HTTP_ACCEPT="application/json").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {"username": "demo", "password": "wrong-password"},
        {"username": "nobody-at-all", "password": "whatever"},
        {"username": "demo", "password": devcloud.DEMO.password, "project": "no-such-project"},
        {"username": "demo", "password": devcloud.DEMO.password, "domain": "NoSuchDomain"},
    ],
)
def test_session_login_bad_credentials_are_refused(client, clouds, fields):
    response = sign_in(client, **fields)
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert SESSION_TOKEN_KEY not in client.session
    assert client.get(VERSION, HTTP_ACCEPT="application/json").status_code == 401


@pytest.mark.django_db
def test_session_login_keystone_down_says_so(client, settings, closed_port):
    settings.GLANCE_API = {"KEYSTONE_URL": f"http://127.0.0.1:{closed_port}/v3"}
    response = sign_in(client, username="demo", password="whatever")
    # the form again, saying so, with the status of it (issue 26: a 503 with Retry-After)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert "Keystone is unreachable." in response.content.decode()


@pytest.mark.django_db
def test_session_logout_revokes_the_token(client, clouds, admin_session):
    sign_in(client, username=devcloud.DEMO.username, password=devcloud.DEMO.password)
    token = client.session[SESSION_TOKEN_KEY]
    response = client.post(reverse("rest_framework:logout"))
    assert response.status_code == 302
    assert client.get(VERSION, HTTP_ACCEPT="application/json").status_code == 401
    check = admin_session.get(
        devcloud.KEYSTONE_URL + "/auth/tokens",
        headers={"X-Subject-Token": token},
        raise_exc=False,
    )
    assert check.status_code == 404  # Keystone no longer knows it


@pytest.mark.django_db
def test_session_unsafe_methods_need_csrf(clouds):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    login_page = client.get(reverse("rest_framework:login"))
    csrf = login_page.cookies["csrftoken"].value
    client.post(
        reverse("rest_framework:login"),
        {"username": "demo", "password": devcloud.DEMO.password, "csrfmiddlewaretoken": csrf},
    )
    response = client.post(VERSION, HTTP_ACCEPT="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


# --- the token stays secret -----------------------------------------------------


@pytest.mark.django_db
def test_token_never_in_a_response_or_a_log(client, anon_client, fresh_demo_token, caplog):
    caplog.set_level(logging.DEBUG)
    responses = [
        anon_client.get(VERSION, HTTP_X_AUTH_TOKEN=fresh_demo_token),
        anon_client.get(
            "/api/glance/", HTTP_X_AUTH_TOKEN=fresh_demo_token, HTTP_ACCEPT="text/html"
        ),
        anon_client.get(VERSION, HTTP_X_AUTH_TOKEN=fresh_demo_token + "x"),
    ]
    sign_in(client, username=devcloud.DEMO.username, password=devcloud.DEMO.password)
    session_token = client.session[SESSION_TOKEN_KEY]
    responses.append(client.get(VERSION, HTTP_ACCEPT="text/html"))
    client.post(reverse("rest_framework:logout"))
    assert caplog.records, "debug logging was captured"
    for token in (fresh_demo_token, session_token):
        assert token not in caplog.text
        for response in responses:
            assert token not in response.content.decode()
            assert all(token not in value for value in response.headers.values())


def test_a_token_forgotten_by_another_process_is_refused_here_at_once(
    anon_client, settings, tmp_path, demo_session, fresh_demo_token
):
    """With a cache that processes share, a process's own copy of a validation is dropped
    once another process forgot the token (its logout, or a 401 from Keystone or Glance)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "shared"),
        }
    }
    anon_client.credentials(HTTP_X_AUTH_TOKEN=fresh_demo_token)
    assert anon_client.get("/api/glance/version/").status_code == 200
    key = keystone._cache_key(fresh_demo_token)
    kept_here = keystone.local_validations.entries[key]  # with when Keystone gave it
    # Another process signs out: Keystone revokes the token, that process forgets it...
    demo_session.delete(
        f"{devcloud.KEYSTONE_URL}/auth/tokens", headers={"X-Subject-Token": fresh_demo_token}
    )
    keystone.forget_token(fresh_demo_token)
    # ...and this process still holds its own copy of the validation.
    keystone.local_validations.entries[key] = kept_here
    response = anon_client.get("/api/glance/version/")
    assert response.status_code == 401 and "revoked" in response.json()["detail"]


def test_other_logins_of_the_project_never_sign_in_with_keystone(rf):
    """Only the app's sign-in form uses the Keystone backend: a plain authenticate() call
    (Django's admin login, say) with valid Keystone credentials finds no user there."""
    from django.contrib.auth import authenticate

    request = rf.post("/admin/login/")
    assert (
        authenticate(request, username=devcloud.DEMO.username, password=devcloud.DEMO.password)
        is None
    )
    signed_in = authenticate(
        request,
        username=devcloud.DEMO.username,
        password=devcloud.DEMO.password,
        keystone_sign_in=True,
    )
    assert signed_in is not None and signed_in.username == devcloud.DEMO.username


# --- tokens: a refused one costs Keystone once; a revocation sticks ----------------------
# (security review two, findings 9 and 10)

VALIDATION = '"GET /v3/auth/tokens '  # a token validated by Keystone (its access log)
SIGN_IN = '"POST /v3/auth/tokens '  # a password checked by Keystone


@pytest.fixture
def shared_cache(settings, tmp_path):
    """A cache that processes share (a file cache here; Redis or memcached in production)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "shared"),
        }
    }


@pytest.mark.parametrize("cache", ["local memory", "shared"])
def test_a_token_keystone_refused_is_refused_again_without_asking(
    anon_client, keystone_log, request, cache
):
    if cache == "shared":
        request.getfixturevalue("shared_cache")
    bogus = "gAAAAB" + secrets.token_urlsafe(120)
    for _ in range(5):
        response = anon_client.get("/api/glance/version/", HTTP_X_AUTH_TOKEN=bogus)
        assert response.status_code == 401 and "invalid" in response.json()["detail"]
    assert keystone_log.count(VALIDATION, 1) == 1


def test_a_validation_older_than_a_revocation_is_never_served(
    shared_cache, keystone_log, fresh_demo_token
):
    """Another process validated the token just before it was revoked and forgotten, and
    keeps its validation just after: that validation is older than the mark, so the token
    is asked about again (and refused), not served from the cache."""
    from rest_framework.exceptions import AuthenticationFailed

    from glance_api import keystone
    from glance_api.clients import access_from_body

    before = time.time()
    body = keystone._fetch_token(fresh_demo_token)  # that process's validation, on its way
    keystone.revoke_token(fresh_demo_token)  # a sign-out: Keystone, then the mark
    keystone._remember(access_from_body(body, fresh_demo_token), before)  # ...kept late
    keystone_log.mark()
    with pytest.raises(AuthenticationFailed):  # asked again (not served), and refused
        keystone.validate_token(fresh_demo_token)
    assert keystone_log.count(VALIDATION, 1) == 1


def _sign_in(client, password: str):
    from django.urls import reverse

    from devcloud import config as devcloud

    return client.post(
        reverse("rest_framework:login"),
        {
            "username": devcloud.DEMO.username,
            "password": password,
            "project": devcloud.DEMO.project,
        },
    )


@pytest.mark.django_db
def test_failed_sign_ins_of_a_user_are_limited_without_asking_keystone(client, keystone_log):
    from devcloud import config as devcloud

    for _ in range(app_settings.SIGN_IN_ATTEMPTS):
        response = _sign_in(client, "a wrong guess")
        assert response.status_code == 200 and b"enter a correct" in response.content.lower()
    response = _sign_in(client, devcloud.DEMO.password)  # right, but the limit is reached
    assert response.status_code == 200 and b"Too many failed sign-ins" in response.content
    # Keystone checked the five guesses' passwords, and was not asked the sixth time
    assert keystone_log.count(SIGN_IN, app_settings.SIGN_IN_ATTEMPTS) == (
        app_settings.SIGN_IN_ATTEMPTS
    )
    caches["default"].clear()  # the window has passed
    assert _sign_in(client, devcloud.DEMO.password).status_code == 302


@pytest.mark.django_db
def test_a_successful_sign_in_starts_the_count_anew(client):
    from devcloud import config as devcloud

    for _ in range(app_settings.SIGN_IN_ATTEMPTS - 1):
        _sign_in(client, "a wrong guess")
    assert _sign_in(client, devcloud.DEMO.password).status_code == 302
    for _ in range(app_settings.SIGN_IN_ATTEMPTS - 1):
        _sign_in(client, "a wrong guess")
    assert _sign_in(client, devcloud.DEMO.password).status_code == 302


# --- sign-out by POST only, with its CSRF check, on Django 4.2 too -----------------------
# (security review three, finding 9)


@pytest.mark.django_db
def test_a_cross_site_get_or_post_does_not_sign_out(clouds, admin_session):
    from django.test import Client

    from devcloud import config as devcloud
    from glance_api.auth import SESSION_TOKEN_KEY
    from tests.test_auth import sign_in

    client = Client(enforce_csrf_checks=True)
    client.get("/api-auth/login/")
    sign_in(
        client,
        username=devcloud.DEMO.username,
        password=devcloud.DEMO.password,
        csrfmiddlewaretoken=client.cookies["csrftoken"].value,
    )
    token = client.session[SESSION_TOKEN_KEY]
    assert client.get("/api-auth/logout/").status_code == 405  # an <img> of another site
    assert client.post("/api-auth/logout/").status_code == 403  # a form of another site
    assert client.get(f"{API}/version/", HTTP_ACCEPT="application/json").status_code == 200
    check = admin_session.get(
        devcloud.KEYSTONE_URL + "/auth/tokens", headers={"X-Subject-Token": token}, raise_exc=False
    )
    assert check.status_code == 200  # not revoked

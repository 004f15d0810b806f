"""The second security review (issue 23): each finding, as a test that fails without its
fix. Against the real dev cloud, in-process; nginx's part is in ``test_stack.py``."""

import ast
import io
import secrets
import sys
import time
from pathlib import Path

import pytest
from django.core.cache import caches
from django.views.debug import ExceptionReporter

from devcloud.cloud import GLANCE_ACCESS_LOG
from glance_api import capabilities
from glance_api.conf import settings as app_settings
from glance_api.parsers import MultiPartParser
from glance_api.schema import SchemaView
from tests.helpers import IMAGES, direct_create

ROOT = Path(__file__).resolve().parent.parent

NAMESPACES = "/api/glance/metadefs/namespaces/"


# --- 1. the schema: no copy kept per made-up version ---------------------------------


def test_schema_of_a_version_that_does_not_exist_is_404_and_kept_nowhere(anon_client):
    assert anon_client.get("/api/schema/").status_code == 200
    kept = len(SchemaView._schemas)
    for n in range(5):
        response = anon_client.get(f"/api/schema/?version=made-up-{n}")
        assert response.status_code == 404
        assert b"made-up-" in response.content and b"no versions" in response.content
    assert len(SchemaView._schemas) == kept


# --- 3 and 4. upload grants: nothing written for a guess, no token in the cache -------


def _cache_keys() -> int:
    cache = caches[app_settings.CACHE_ALIAS]
    return len(cache._cache)  # LocMemCache, the tests' cache


def test_redeeming_an_unknown_secret_writes_nothing(anon_client):
    before = _cache_keys()
    for _ in range(20):
        response = anon_client.put(
            f"/api/glance/uploads/{secrets.token_urlsafe(32)}/",
            data=b"x",
            content_type="application/octet-stream",
        )
        assert response.status_code == 404
    assert _cache_keys() == before


def test_a_grant_is_redeemed_once_and_its_token_is_sealed_in_the_cache():
    token = "gAAAA-a-keystone-token-" + secrets.token_hex(16)
    secret = capabilities.issue(token, "user-1", "image-1")
    held = caches[app_settings.CACHE_ALIAS].get(capabilities._key(secret))
    assert token not in repr(held) and set(held) == {"sealed_token", "user_id", "image_id"}
    assert capabilities.redeem(secret) == {
        "token": token,
        "user_id": "user-1",
        "image_id": "image-1",
    }
    assert capabilities.redeem(secret) is None


def test_a_grant_does_not_open_with_another_secret():
    secret = capabilities.issue("a-token", "user-1", "image-1")
    other = secrets.token_urlsafe(32)
    cache = caches[app_settings.CACHE_ALIAS]
    cache.set(capabilities._key(other), cache.get(capabilities._key(secret)), 60)
    assert capabilities.redeem(other) is None


# --- 6. "." and ".." are no path segment ----------------------------------------------


def _glance_saw(fragment: str) -> bool:
    return fragment in GLANCE_ACCESS_LOG.read_text(errors="replace")


@pytest.mark.parametrize("dots", ["%2E", "%2E%2E", ".%2E"])
def test_a_tag_of_dots_is_400_and_reaches_glance_as_nothing(
    admin_client, glance_admin, make_image, dots
):
    image = make_image(name="dotted", tags=["keep"])
    for method in ("put", "delete"):
        response = getattr(admin_client, method)(f"{IMAGES}{image['id']}/tags/{dots}/")
        assert response.status_code == 400, response.content
        assert "tag" in response.json()
    assert not _glance_saw(f"PUT /v2/images/{image['id']}/ ")
    assert not _glance_saw(f"DELETE /v2/images/{image['id']}/ ")
    assert glance_admin.images.get(image["id"])["tags"] == ["keep"]


@pytest.mark.parametrize("dots", ["%2E", "%2E%2E"])
def test_a_member_or_namespace_of_dots_is_400(admin_client, make_image, dots):
    image = make_image(name="dotted")
    response = admin_client.get(f"{IMAGES}{image['id']}/members/{dots}/")
    assert response.status_code == 400 and "member_id" in response.json()
    response = admin_client.get(f"{NAMESPACES}{dots}/")
    assert response.status_code == 400 and "namespace" in response.json()


# --- 7. every parse error a JSON 4xx; the token no local of a debug report ------------


def _multipart(fields: dict, boundary: str = "XB") -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode()


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("multipart/form-data; boundary=XB; charset=bz2_codec", _multipart({"name": "x"})),
        ("multipart/form-data; boundary=XB; charset=no-such-charset", _multipart({"name": "x"})),
        ("multipart/form-data", _multipart({"name": "x"})),
        ("multipart/form-data; boundary=", _multipart({"name": "x"})),
        (
            "multipart/form-data; boundary=XB",
            _multipart({"name": "x", "$$originalJSON": "[" * 100_000}),
        ),
        ("application/json; charset=bz2_codec", b'{"name": "x"}'),
        ("application/x-www-form-urlencoded; charset=bz2_codec", b"name=x"),
    ],
)
def test_a_body_that_cannot_be_parsed_is_a_json_400(
    admin_client, glance_admin, content_type, body, caplog
):
    name = f"unparsed-{secrets.token_hex(4)}"
    body = (
        body.replace(b"name=x", f"name={name}".encode())
        .replace(b'"name": "x"', f'"name": "{name}"'.encode())
        .replace(b"\r\n\r\nx\r\n", f"\r\n\r\n{name}\r\n".encode())
    )
    response = admin_client.generic("POST", IMAGES, body, content_type=content_type)
    assert response.status_code in (400, 415), response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    assert response.json()
    assert "Traceback" not in caplog.text
    assert list(glance_admin.images.list(filters={"name": name})) == []


def _binds_a_secret(function) -> list[str]:
    names = {a.arg for a in function.args.args + function.args.kwonlyargs}
    names |= {
        node.id
        for node in ast.walk(function)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }
    return sorted(
        n for n in names if n in ("token", "secret", "meta", "headers") or n.endswith("_token")
    )


def test_every_function_with_a_token_or_secret_in_its_locals_hides_them_from_reports():
    """Django's error pages, e-mails and trackers show each frame's locals, but not those
    of a function marked ``sensitive_variables``: every function of the app that binds a
    token, an upload secret, request headers or META is marked."""
    unmarked = []
    for path in sorted((ROOT / "glance_api").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and _binds_a_secret(node)
                and not any(
                    "sensitive_variables" in ast.unparse(decorator)
                    for decorator in node.decorator_list
                )
            ):
                unmarked.append(
                    f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {_binds_a_secret(node)}"
                )
    assert unmarked == []


def test_a_debug_report_of_a_failing_multipart_parse_shows_no_token(rf):
    """The report Django would mail (or show with DEBUG) for an error inside the multipart
    parser: the caller's token, in the request's META and the parser's copy of it, is
    hidden."""
    token = "gAAAA-secret-token-" + secrets.token_hex(8)
    body = _multipart({"name": "x"})
    request = rf.post(
        IMAGES, data=body, content_type="multipart/form-data; boundary=XB", HTTP_X_AUTH_TOKEN=token
    )

    class Broken(io.BytesIO):
        def read(self, *args):
            raise OSError("the connection broke")

    try:
        MultiPartParser().parse(
            Broken(body),
            "multipart/form-data; boundary=XB",
            {"request": request, "view": None, "encoding": "utf-8"},
        )
    except OSError:
        kind, error, trace = sys.exc_info()  # the test's own frame left out
        report = ExceptionReporter(request, kind, error, trace.tb_next).get_traceback_html()
    else:
        raise AssertionError("the parse did not fail")
    assert "the connection broke" in report and "Local vars" in report
    assert token not in report


# --- 9 and 10. tokens: a refused one costs Keystone once; a revocation sticks ---------


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


# --- 11 and 12. logs: no upload secret in request lines; the client's address ----------


def test_the_development_servers_request_log_hides_upload_secrets():
    """runserver logs each request line through ``django.server``: the project's LOGGING
    writes <secret> for an upload URL's secret there."""
    import logging

    secret = secrets.token_urlsafe(32)
    server_log = logging.getLogger("django.server")
    written = io.StringIO()
    handler = logging.StreamHandler(written)  # beside the project's own
    server_log.addHandler(handler)
    try:
        server_log.info('"%s" %s %s', f"PUT /api/glance/uploads/{secret}/ HTTP/1.1", "204", "0")
    finally:
        server_log.removeHandler(handler)
    written = written.getvalue()
    assert secret not in written and "/api/glance/uploads/<secret>/ HTTP/1.1" in written


def test_the_json_request_log_has_the_client_address(anon_client, caplog):
    import json
    import logging

    caplog.set_level(logging.INFO, logger="glance_api.requests")
    anon_client.get(
        "/api/glance/healthz/", REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="198.51.100.3"
    )
    (line,) = [
        json.loads(r.getMessage()) for r in caplog.records if r.name == "glance_api.requests"
    ]
    assert (line["client"], line["forwarded_for"]) == ("192.0.2.7", "198.51.100.3")


# --- 5. uploads: a few at a time per user, wherever they come in ----------------------


def test_uploads_beyond_the_users_limit_are_429_before_their_body_is_read(
    admin_client, anon_client, admin_token, make_image, glance_admin, settings
):
    """With UPLOADS_PER_USER uploads of a user running (their slots held here), one more,
    by any way in, is refused with Retry-After, and its image stays as it was; another
    user is not limited, and a slot that comes free is taken again."""
    from glance_api import keystone, uploadslots

    settings.GLANCE_API = {**settings.GLANCE_API, "UPLOADS_PER_USER": 2}
    user_id = keystone.validate_token(admin_token).user_id
    image = make_image(name="limited")
    direct = admin_client.post(
        IMAGES,
        direct_create("limited-direct"),
        format="json",
    ).json()
    try:
        with uploadslots.upload_slot(user_id), uploadslots.upload_slot(user_id):
            refused = [
                admin_client.put(
                    f"{IMAGES}{image['id']}/file/",
                    data=b"x" * 1000,
                    content_type="application/octet-stream",
                ),
                admin_client.put(
                    f"{IMAGES}{image['id']}/stage/",
                    data=b"x" * 1000,
                    content_type="application/octet-stream",
                ),
                anon_client.put(
                    direct["upload_url"], data=b"x" * 1000, content_type="application/octet-stream"
                ),
                admin_client.generic(
                    "POST",
                    IMAGES,
                    _multipart(
                        {
                            "name": "limited-multipart",
                            "source_type": "file-legacy",
                            "disk_format": "raw",
                            "visibility": "private",
                            "protected": "false",
                        }
                    ),
                    content_type="multipart/form-data; boundary=XB",
                ),
            ]
            for answer in refused:
                assert answer.status_code == 429, answer.content
                assert answer["Retry-After"] == str(uploadslots.RETRY_AFTER)
                assert "uploads at a time per user" in answer.json()["detail"]
            assert glance_admin.images.get(image["id"])["status"] == "queued"
            with uploadslots.upload_slot("someone-else"):
                pass
        # free again: the upload URL was left usable, and the image takes its data
        answer = anon_client.put(
            direct["upload_url"], data=b"y" * 1000, content_type="application/octet-stream"
        )
        assert answer.status_code == 200, answer.content
        answer = admin_client.put(
            f"{IMAGES}{image['id']}/file/",
            data=b"x" * 1000,
            content_type="application/octet-stream",
        )
        assert answer.status_code == 200, answer.content
    finally:
        glance_admin.images.delete(direct["id"])
    assert list(glance_admin.images.list(filters={"name": "limited-multipart"})) == []

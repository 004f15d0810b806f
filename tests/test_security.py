"""Hostile input, tokens and caching: a careless or hostile client gets a clear 4xx and
changes nothing; a token stops working when Keystone or Glance says so."""

import ast
import hashlib
import io
import os
import secrets
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from django.urls import reverse
from django.views.debug import ExceptionReporter

from devcloud import config as devcloud
from devcloud.cloud import GLANCE_ACCESS_LOG
from glance_api.auth import SESSION_TOKEN_KEY
from glance_api.parsers import MultiPartParser
from tests.helpers import IMAGES, multipart_fields

ROOT = Path(__file__).resolve().parent.parent

VERSION = "/api/glance/version/"


# --- nothing reaches Glance as another request ------------------------------------


@pytest.mark.parametrize("suffix", ["%3F", "%23", "%3Fx=1", "%2F..", "%2F..%2F..", "%00"])
def test_image_id_with_url_characters_changes_nothing(
    admin_client, glance_admin, make_image, suffix
):
    image = make_image(name="victim", tags=["harmless"])
    response = admin_client.delete(f"{IMAGES}{image['id']}{suffix}/tags/harmless/")
    assert response.status_code == 404
    response = admin_client.delete(f"{IMAGES}{image['id']}{suffix}/")
    assert response.status_code == 404
    held = glance_admin.images.get(image["id"])
    assert held["status"] == "queued" and held["tags"] == ["harmless"]


def test_image_id_that_is_no_uuid_is_a_json_404_before_glance(admin_client):
    response = admin_client.get(f"{IMAGES}not-an-image/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.parametrize("tag", ["a%3Fb", "a%23b", "a%2Fb", "..", "%2E%2E"])
def test_tag_is_one_path_segment(admin_client, glance_admin, make_image, tag):
    image = make_image(name="tagged", tags=["keep"])
    admin_client.put(f"{IMAGES}{image['id']}/tags/{tag}/")
    admin_client.delete(f"{IMAGES}{image['id']}/tags/{tag}/")
    held = glance_admin.images.get(image["id"])
    assert held["status"] == "queued" and "keep" in held["tags"]


@pytest.mark.parametrize("member", ["x%3F", "x%23", "..", "x%2F.."])
def test_member_id_is_one_path_segment(
    admin_client, glance_admin, make_image, demo_session, member
):
    image = make_image(name="shared", visibility="shared")
    demo = demo_session.get_project_id()
    glance_admin.image_members.create(image["id"], demo)
    for method in ("get", "delete"):
        response = getattr(admin_client, method)(f"{IMAGES}{image['id']}/members/{member}/")
        assert response.status_code in (400, 403, 404), response.content
    assert [m["member_id"] for m in glance_admin.image_members.list(image["id"])] == [demo]
    assert glance_admin.images.get(image["id"])["status"] == "queued"


@pytest.mark.parametrize("marker", ["x?limit=1", "x#y", "../x", "%s?sort_key=name"])
def test_marker_that_is_no_image_id_is_400_naming_it(admin_client, make_image, marker):
    image = make_image(name="marked")
    response = admin_client.get(
        IMAGES, {"paginate": "true", "marker": marker.replace("%s", image["id"])}
    )
    assert response.status_code == 400 and list(response.json()) == ["marker"]


# --- bodies and headers that once answered 500 -------------------------------------


@pytest.mark.parametrize("length", ["¹", "-1", "abc", "1e3", " 12", "99999999999999999999999"])
def test_any_content_length_on_an_upload_is_a_4xx(admin_client, glance_admin, make_image, length):
    image = make_image()
    response = admin_client.generic(
        "PUT",
        f"{IMAGES}{image['id']}/file/",
        b"data",
        content_type="application/octet-stream",
        CONTENT_LENGTH=length,
    )
    assert 400 <= response.status_code < 500, response.content
    assert glance_admin.images.get(image["id"])["status"] == "queued"


@pytest.mark.parametrize("length", ["¹", "-1", "abc", "99999999999999999999999"])
def test_any_content_length_on_a_json_body_is_never_a_5xx(admin_client, length):
    response = admin_client.generic(
        "POST", IMAGES, b'{"name": "x"}', content_type="application/json", CONTENT_LENGTH=length
    )
    assert 400 <= response.status_code < 500, response.content


def test_deeply_nested_json_is_400(admin_client, glance_admin):
    before = len(list(glance_admin.images.list()))
    response = admin_client.generic(
        "POST", IMAGES, b"[" * 200_000 + b"]" * 200_000, content_type="application/json"
    )
    assert response.status_code == 400 and "nested too deeply" in response.json()["detail"]
    response = admin_client.generic(
        "POST", IMAGES, b'{"a":' * 100_000 + b"1" + b"}" * 100_000, content_type="application/json"
    )
    assert response.status_code == 400
    assert len(list(glance_admin.images.list())) == before


def test_huge_json_is_413_and_read_no_further(admin_client):
    body = b'{"name": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    response = admin_client.generic("POST", IMAGES, body, content_type="application/json")
    assert response.status_code == 413 and response.json()["code"] == "too_large"


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "options", "head"])
@pytest.mark.parametrize(
    "path",
    [
        "",
        "images/",
        "images/{id}/",
        "images/{id}/file/",
        "images/{id}/stage/",
        "images/{id}/tags/t/",
        "images/{id}/members/",
        "images/{id}/properties/",
        "metadefs/namespaces/",
        "version/",
    ],
)
def test_any_body_on_any_method_is_never_a_5xx(admin_client, make_image, method, path):
    image_id = make_image()["id"] if "{id}" in path else ""
    for content_type, body in (
        ("application/json", b'{"updated": [1], "name": {}}'),
        ("application/json", b"\xff\xfe"),
        ("text/xml", b"<a/>"),
        ("multipart/form-data; boundary=x", b"--x\r\n--x--"),
        ("application/x-www-form-urlencoded", b"a=%ZZ&&="),
    ):
        response = admin_client.generic(
            method.upper(),
            f"/api/glance/{path}".replace("{id}", image_id),
            body,
            content_type=content_type,
        )
        assert response.status_code < 500, (method, path, content_type, response.content[:300])


# --- chunked uploads -----------------------------------------------------------------


@pytest.fixture(scope="module")
def gunicorn_api():
    """The project under gunicorn, which decodes chunked bodies (Django's test server
    does not)."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.common import ApiServer

    with ApiServer() as server:
        yield server


def chunks(data: bytes, size: int = 65536):
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("route, status", [("file/", "active"), ("stage/", "uploading")])
def test_chunked_upload_is_streamed_bit_exact(
    gunicorn_api, admin_token, glance_admin, make_image, route, status
):
    data = os.urandom(3 * 1024 * 1024 + 17)
    image = make_image()
    response = requests.put(
        f"{gunicorn_api.url}{IMAGES}{image['id']}/{route}",
        data=chunks(data),
        timeout=60,
        headers={"X-Auth-Token": admin_token, "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 200, response.text
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.json()["status"] == status
    if route == "stage/":  # the staged bytes become the image's through the import
        glance_admin.images.image_import(image["id"], "glance-direct")
        deadline = time.monotonic() + 60
        while glance_admin.images.get(image["id"])["status"] != "active":
            assert time.monotonic() < deadline, "the glance-direct import did not finish"
            time.sleep(0.2)
    held = glance_admin.images.get(image["id"])
    assert held["size"] == len(data)
    assert held["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert b"".join(glance_admin.images.data(image["id"])) == data


def test_chunked_upload_where_the_server_cannot_take_it_is_411(
    live_server, admin_token, glance_admin, make_image
):
    image = make_image()
    response = requests.put(
        f"{live_server.url}{IMAGES}{image['id']}/file/",
        data=chunks(b"x" * 100000),
        timeout=60,
        headers={"X-Auth-Token": admin_token, "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 411 and response.json()["code"] == "length_required"
    assert glance_admin.images.get(image["id"])["status"] == "queued"


# --- tokens --------------------------------------------------------------------------


def test_token_refused_by_glance_is_refused_from_then_on(
    anon_client, demo_session, fresh_demo_token
):
    headers = {"HTTP_X_AUTH_TOKEN": fresh_demo_token}
    assert anon_client.get(VERSION, **headers).status_code == 200  # validated and cached
    demo_session.delete(
        devcloud.KEYSTONE_URL + "/auth/tokens", headers={"X-Subject-Token": fresh_demo_token}
    )
    refused = anon_client.get(IMAGES, **headers)  # our cache still says yes; Glance says no
    assert refused.status_code == 401
    again = anon_client.get(VERSION, **headers)  # the validation was dropped: Keystone asked
    assert again.status_code == 401 and "revoked" in again.json()["detail"]


def sign_in(client, **fields):
    return client.post(
        reverse("rest_framework:login"),
        {
            "username": devcloud.DEMO.username,
            "password": devcloud.DEMO.password,
            "project": devcloud.DEMO.project,
            **fields,
        },
    )


def known_to_keystone(admin_session, token: str) -> bool:
    check = admin_session.get(
        devcloud.KEYSTONE_URL + "/auth/tokens", headers={"X-Subject-Token": token}, raise_exc=False
    )
    return check.status_code == 200


@pytest.mark.django_db
def test_signing_in_again_revokes_the_previous_token(client, clouds, admin_session):
    sign_in(client)
    first = client.session[SESSION_TOKEN_KEY]
    sign_in(client)
    second = client.session[SESSION_TOKEN_KEY]
    assert first != second
    assert not known_to_keystone(admin_session, first)
    assert known_to_keystone(admin_session, second)


@pytest.mark.django_db
def test_session_ends_when_its_token_expires(client, clouds):
    sign_in(client)
    token_expires = client.get(VERSION).wsgi_request.session.get_expiry_date()
    remaining = (token_expires - datetime.now(UTC)).total_seconds()
    assert 0 < remaining <= 3600 + 60  # the dev cloud's tokens last an hour, not two weeks


def revocation_events(admin_session) -> list[dict]:
    return admin_session.get(devcloud.KEYSTONE_URL + "/OS-REVOKE/events").json()["events"]


@pytest.fixture
def user_without_default_project(clouds):
    """A Keystone user with a role in the demo project but no default project: signing in
    without a project goes through an unscoped token."""
    from keystoneclient.v3 import client as ks_client

    from devcloud.accounts import admin_session

    keystone = ks_client.Client(session=admin_session())
    project = keystone.projects.find(name=devcloud.DEMO.project)
    name, password = f"nodefault-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    user = keystone.users.create(name, domain="default", password=password)
    keystone.roles.grant(keystone.roles.find(name="member"), user=user, project=project)
    yield name, password
    keystone.users.delete(user)


@pytest.mark.django_db
def test_sign_in_without_project_revokes_the_unscoped_token(
    client, admin_session, user_without_default_project
):
    name, password = user_without_default_project
    before = {event.get("audit_id") for event in revocation_events(admin_session)}
    response = sign_in(client, username=name, password=password, project="")
    assert response.status_code == 302
    kept = client.session[SESSION_TOKEN_KEY]
    kept_audit = admin_session.get(
        devcloud.KEYSTONE_URL + "/auth/tokens", headers={"X-Subject-Token": kept}
    ).json()["token"]["audit_ids"]
    new = {event.get("audit_id") for event in revocation_events(admin_session)} - before
    assert len(new) == 1 and not new & set(kept_audit)  # the unscoped one, not the kept one
    assert client.get(VERSION, HTTP_ACCEPT="application/json").status_code == 200


def test_answers_are_never_cached(demo_client, anon_client):
    for response in (demo_client.get(VERSION), anon_client.get(VERSION), demo_client.get(IMAGES)):
        assert "no-store" in response["Cache-Control"]
        assert {"x-auth-token", "cookie"} <= {
            v.strip().lower() for v in response["Vary"].split(",")
        }


def test_the_private_headers_are_djangos_never_cache_headers():
    """views.base writes them at once where an answer has neither (a fast path): the
    same headers as Django's add_never_cache_headers, and Django's merge otherwise."""
    from django.http import HttpResponse
    from django.utils.cache import add_never_cache_headers
    from django.utils.http import parse_http_date

    from glance_api.views.base import add_private_headers

    for preset in ({}, {"Cache-Control": "no-transform"}, {"Expires": "0"}):
        ours, djangos = HttpResponse(headers=preset), HttpResponse(headers=preset)
        add_private_headers(ours)
        add_never_cache_headers(djangos)
        assert ours["Cache-Control"] == djangos["Cache-Control"], preset
        if preset.get("Expires"):
            assert ours["Expires"] == djangos["Expires"] == "0"
        else:  # now, as an HTTP date (the two made a moment apart)
            assert abs(parse_http_date(ours["Expires"]) - parse_http_date(djangos["Expires"])) <= 1
        assert ("no-transform" in ours["Cache-Control"]) == bool(preset.get("Cache-Control"))


# --- deployment settings -------------------------------------------------------------

PRODUCTION = {
    "DJANGO_SECRET_KEY": "x" * 40 + uuid.uuid4().hex,
    "DJANGO_ALLOWED_HOSTS": "api.example.org",
    "DJANGO_SECURE_COOKIES": "1",
    "DJANGO_SECURE_SSL_REDIRECT": "1",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "DJANGO_SECURE_HSTS_PRELOAD": "1",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "1",
}


def manage(*args, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        text=True,
        capture_output=True,
        env={**clean, **env},
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_readmes_production_variables():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_without_debug_the_project_needs_a_secret_key():
    result = manage("check")
    assert result.returncode != 0
    assert "Set DJANGO_SECRET_KEY" in result.stderr
    assert manage("check", DJANGO_DEBUG="1").returncode == 0


# --- "." and ".." are no path segment ----------------------------------------------------
# (security review two, finding 6)

NAMESPACES = "/api/glance/metadefs/namespaces/"


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


# --- every parse error a JSON 4xx; the token no local of a debug report ------------------
# (security review two, finding 7)


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("multipart/form-data; boundary=XB; charset=bz2_codec", multipart_fields({"name": "x"})),
        (
            "multipart/form-data; boundary=XB; charset=no-such-charset",
            multipart_fields({"name": "x"}),
        ),
        ("multipart/form-data", multipart_fields({"name": "x"})),
        ("multipart/form-data; boundary=", multipart_fields({"name": "x"})),
        (
            "multipart/form-data; boundary=XB",
            multipart_fields({"name": "x", "$$originalJSON": "[" * 100_000}),
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
    body = multipart_fields({"name": "x"})
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

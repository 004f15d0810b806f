"""The app's side of the uploads nginx carries (issue 25), in process against the real
Glance: nginx's auth_request answered with where the body goes, or why not."""

import pytest

from tests.helpers import API, IMAGES

SECRET = "test-accel-secret"
AUTHORIZE = "/api/glance/_accel/upload/"


@pytest.fixture
def accel(app_settings):
    app_settings.GLANCE_API = {**app_settings.GLANCE_API, "ACCEL_SECRET": SECRET}


def ask(client, uri: str, secret: str = SECRET, **headers):
    """As nginx asks (its auth_request, with proxy_method PUT): the client's headers, no body."""
    return client.put(
        AUTHORIZE,
        content_type=headers.pop("content_type", "application/octet-stream"),
        HTTP_X_GLANCE_API_ACCEL=secret,
        HTTP_X_ORIGINAL_URI=uri,
        **headers,
    )


def test_without_nginxs_secret_there_is_nothing_here(admin_client, accel, make_image):
    image = make_image()
    uri = f"/api/glance/images/{image['id']}/file/"
    assert ask(admin_client, uri, secret="guess").status_code == 404
    assert ask(admin_client, uri, secret="").status_code == 404


def test_an_upload_goes_to_glance_with_the_callers_token(
    admin_client, admin_token, accel, make_image, glance_admin
):
    image = make_image()
    staged = ask(admin_client, f"/api/glance/images/{image['id']}/stage/")
    assert staged.status_code == 204, staged.content
    assert staged["X-Glance-Path"] == f"/v2/images/{image['id']}/stage"
    assert staged["X-Glance-Token"] == admin_token
    answer = ask(admin_client, f"/api/glance/images/{image['id']}/file/?store=fs2")
    if not any(v["id"] == "v2.17" for v in glance_admin.versions.list()):
        # 2024.1: Glance does not inspect uploads, the app does (test below)
        assert (answer.status_code, answer["X-Refusal-Status"]) == (403, "via-app")
        return
    assert answer.status_code == 204, answer.content
    assert answer["X-Glance-Path"] == f"/v2/images/{image['id']}/file"
    assert answer["X-Glance-Token"] == admin_token
    assert answer["X-Glance-Store"] == "fs2"


def test_where_glance_does_not_inspect_uploads_they_go_through_the_app(
    admin_client, accel, make_image, glance_listing
):  # noqa: F811
    """Glance before 2024.2 (API 2.17) has no require_image_format_match: the app keeps its
    own check of the bytes' format, so a bare image's upload goes through the app."""
    glance_listing(lambda version: version <= (2, 16))
    image = make_image(disk_format="qcow2")
    answer = ask(admin_client, f"/api/glance/images/{image['id']}/file/")
    assert answer.status_code == 403
    assert answer["X-Refusal-Status"] == "via-app"
    assert "X-Glance-Token" not in answer
    staged = ask(admin_client, f"/api/glance/images/{image['id']}/stage/")
    assert staged.status_code == 204  # staging is checked by the import, in Glance


@pytest.mark.parametrize(
    "uri, status, code",
    [
        ("/api/glance/images/00000000-0000-0000-0000-000000000000/file/", 404, "not_found"),
        ("/api/glance/images/not-an-id/file/", 404, "not_found"),
        ("/api/glance/images/", 404, "not_found"),
        ("/api/glance/uploads/unknown-secret/", 404, "not_found"),
    ],
)
def test_refusals_carry_the_clients_status_and_json(admin_client, accel, uri, status, code):
    answer = ask(admin_client, uri)
    assert answer.status_code == 403  # auth_request passes on 401 and 403 only
    assert answer["X-Refusal-Status"] == str(status)
    import json

    assert json.loads(answer["X-Refusal-Body"])["code"] == code


def test_a_queued_image_only(admin_client, accel, make_image):
    image = make_image(data=b"has data")
    answer = ask(admin_client, f"/api/glance/images/{image['id']}/file/")
    assert (answer.status_code, answer["X-Refusal-Status"]) == (403, "409")


def test_no_credentials_is_a_401(anon_client, accel, make_image):
    image = make_image()
    answer = ask(anon_client, f"/api/glance/images/{image['id']}/file/")
    assert answer.status_code == 401
    assert answer["X-Refusal-Status"] == "401"


# --- an upload's path without its final slash works, however it comes --------------------
# (security review three, finding 12)

OCTETS = "application/octet-stream"


@pytest.mark.parametrize("suffix", ["file", "stage"])
def test_nginx_authorizes_an_image_upload_without_the_final_slash(
    admin_client, admin_token, app_settings, make_image, suffix
):
    app_settings.GLANCE_API = {**app_settings.GLANCE_API, "ACCEL_SECRET": SECRET}
    image = make_image()
    answer = admin_client.put(
        f"{API}/_accel/upload/",
        content_type=OCTETS,
        HTTP_X_GLANCE_API_ACCEL=SECRET,
        HTTP_X_ORIGINAL_URI=f"{IMAGES}{image['id']}/{suffix}",
    )
    if answer.status_code == 403:  # Glance before 2.17: the app inspects the upload itself
        assert answer["X-Refusal-Status"] == "via-app" and suffix == "file"
        return
    assert answer.status_code == 204, answer.content
    assert answer["X-Glance-Path"] == f"/v2/images/{image['id']}/{suffix}"

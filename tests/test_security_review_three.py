"""The third security review (issue 32): each finding, as a test that fails without its
fix. Against the real dev cloud, in-process; nginx's part is in ``test_stack_edges.py``."""

import json
import logging
import uuid

import pytest
from django.core.cache import caches

from glance_api.conf import settings as app_settings
from tests.helpers import API, IMAGES, direct_create

OCTETS = "application/octet-stream"

NAMESPACES = "/api/glance/metadefs/namespaces/"
RESOURCE_TYPES = "/api/glance/metadefs/resourcetypes/"


def _cache_keys() -> set[str]:
    return set(caches[app_settings.CACHE_ALIAS]._cache)  # LocMemCache, the tests' cache


def _glance_calls(caplog) -> list[int]:
    return [
        json.loads(record.getMessage())["glance_calls"]
        for record in caplog.records
        if record.name == "glance_api.requests"
    ]


# --- 1. free text in a namespace query makes no cache entry and no Glance call ---------


def test_free_text_in_a_namespace_query_makes_no_cache_entry_and_no_glance_call(
    demo_client, caplog
):
    caplog.set_level(logging.INFO, logger="glance_api.requests")
    first = demo_client.get(NAMESPACES, {"resource_types": "OS::Glance::Image"})
    assert first.status_code == 200 and first.json()["items"]
    keys = _cache_keys()
    queries = []
    for n in range(8):
        made_up = f"Made::Up::{uuid.uuid4().hex}"
        queries += [
            {"resource_types": f"OS::Glance::Image,{made_up}"},
            {"resource_type": made_up},
            {"resource_type": "OS::Glance::Image", "properties_target": made_up},
            {"resource_types": made_up, "paginate": "true", "limit": str(n + 1)},
        ]
    for query in queries:
        response = demo_client.get(NAMESPACES, query)
        assert response.status_code == 200, response.content
    assert _cache_keys() == keys
    assert _glance_calls(caplog)[0] > 10 and set(_glance_calls(caplog)[1:]) == {0}


def test_an_unknown_resource_type_matches_nothing_and_a_known_one_as_before(demo_client):
    image = demo_client.get(NAMESPACES, {"resource_types": "OS::Glance::Image"}).json()["items"]
    both = demo_client.get(
        NAMESPACES, {"resource_types": f"OS::Glance::Image,Made::Up::{uuid.uuid4().hex}"}
    )
    assert both.json()["items"] == image
    none = demo_client.get(NAMESPACES, {"resource_type": f"Made::Up::{uuid.uuid4().hex}"})
    assert none.status_code == 200 and none.json()["items"] == []


def test_an_unknown_marker_is_a_400_and_stores_nothing(demo_client):
    assert demo_client.get(NAMESPACES).status_code == 200
    keys = _cache_keys()
    for _ in range(5):
        response = demo_client.get(NAMESPACES, {"marker": f"No::Such::{uuid.uuid4().hex}"})
        assert response.status_code == 400 and list(response.json()) == ["marker"]
    assert _cache_keys() == keys


def test_the_prefixes_are_glances_own(demo_client, glance_demo):
    """The in-process prefixing gives what Glance gives for the resource type."""
    for resource_type in ("OS::Nova::Flavor", "OS::Glance::Image", "OS::Cinder::Volume"):
        listed = demo_client.get(NAMESPACES, {"resource_type": resource_type}).json()["items"]
        assert listed
        for namespace in listed:
            theirs = glance_demo.http_client.get(
                f"/v2/metadefs/namespaces/{namespace['namespace']}?resource_type={resource_type}"
            )[1]
            theirs.pop("self", None)
            assert namespace == theirs


def test_a_filtered_list_is_glances_filtered_list(demo_client, glance_demo):
    for query in (
        {"resource_types": "OS::Nova::Flavor,OS::Cinder::Volume", "sort_dir": "desc"},
        {"visibility": "public", "sort_key": "created_at"},
    ):
        ours = [n["namespace"] for n in demo_client.get(NAMESPACES, query).json()["items"]]
        filters = {k: v for k, v in query.items() if k not in ("sort_dir", "sort_key")}
        theirs = [
            n["namespace"]
            for n in glance_demo.metadefs_namespace.list(
                filters=filters,
                sort_dir=query.get("sort_dir", "asc"),
                sort_key=query.get("sort_key", "namespace"),
            )
        ]
        assert sorted(ours) == sorted(theirs) and ours
        if query.get("sort_key", "namespace") == "namespace":
            assert ours == theirs


# --- 11. resource types are cached per caller scope -----------------------------------


def test_resource_types_are_cached_per_caller_scope(admin_client, demo_client, caplog):
    caplog.set_level(logging.INFO, logger="glance_api.requests")
    assert admin_client.get(RESOURCE_TYPES).status_code == 200
    assert demo_client.get(RESOURCE_TYPES).status_code == 200  # not the admin's answer
    assert admin_client.get(RESOURCE_TYPES).status_code == 200
    assert _glance_calls(caplog) == [1, 1, 0]


# --- 2. no log carries a live upload secret or a token, whatever the status -----------


def _everything_logged(records) -> str:
    """Every record as a handler would write it: its message, and every value it holds."""
    return "\n".join(
        f"{record.name} {record.getMessage()} {record.__dict__!r}" for record in records
    )


def test_no_logger_writes_an_upload_secret_or_a_token(
    demo_client, anon_client, demo_token, glance_demo, settings, caplog
):
    """Uploads refused (429 at the user's limit, 415, 404 with a used URL) and accepted,
    every logger at DEBUG: no record holds the secret or the token."""
    from glance_api import keystone, uploadslots

    caplog.set_level(logging.DEBUG)
    settings.GLANCE_API = {**settings.GLANCE_API, "UPLOADS_PER_USER": 1}
    created = demo_client.post(IMAGES, direct_create("logged-secret"), format="json").json()
    secret = created["upload_url"].rstrip("/").rsplit("/", 1)[1]
    path = f"{API}/uploads/{secret}/"
    user_id = keystone.validate_token(demo_token).user_id
    try:
        with uploadslots.upload_slot(user_id):
            limited = anon_client.put(path, data=b"x" * 512, content_type=OCTETS)
        assert limited.status_code == 429, limited.content
        wrong_type = anon_client.put(path, data=b"x" * 512, content_type="text/plain")
        assert wrong_type.status_code == 415, wrong_type.content
        accepted = anon_client.put(path, data=b"x" * 512, content_type=OCTETS)
        assert accepted.status_code == 200, accepted.content
        used = anon_client.put(path, data=b"x" * 512, content_type=OCTETS)
        assert used.status_code == 404, used.content
    finally:
        glance_demo.images.delete(created["id"])
    logged = _everything_logged(caplog.records)
    assert "Too Many Requests" in logged and "/uploads/<secret>/" in logged  # it did log
    assert secret not in logged, [
        (r.name, {k: v for k, v in r.__dict__.items() if secret in repr(v)})
        for r in caplog.records
        if secret in repr(r.__dict__)
    ]
    assert demo_token not in logged


def test_djangos_path_loggers_hide_the_secret_in_any_project():
    """The app puts the filter on Django's own loggers, so a project's handlers (without
    the project's filter) never get the secret."""
    from glance_api.requestlog import PATH_LOGGERS, HideUploadSecrets

    for name in PATH_LOGGERS:
        assert any(isinstance(f, HideUploadSecrets) for f in logging.getLogger(name).filters)
    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "%s: %s",
        ("Too Many Requests", "/api/glance/uploads/s3cr3t-value/"),
        None,
    )
    assert logging.getLogger("django.request").filter(record)
    assert "s3cr3t" not in record.getMessage()


# --- 3. a Range of any length is answered, never a 500 --------------------------------

LONG = "9" * 5000


@pytest.fixture
def ranged(make_image):
    return make_image(data=b"0123456789" * 100, name="long-range")


@pytest.mark.parametrize(
    "header, status, content_range",
    [
        (f"bytes={LONG}-", 416, "bytes */1000"),
        (f"bytes=0-{LONG}", 206, "bytes 0-999/1000"),
        (f"bytes=-{LONG}", 206, "bytes 0-999/1000"),
        (f"bytes={'0' * 5000}5-9", 206, "bytes 5-9/1000"),
        (f"bytes={LONG}-{LONG}", 416, "bytes */1000"),
    ],
)
def test_a_range_of_thousands_of_digits_is_answered(
    admin_client, ranged, header, status, content_range
):
    response = admin_client.get(
        f"{IMAGES}{ranged['id']}/file/", HTTP_RANGE=header, HTTP_ACCEPT=OCTETS
    )
    assert response.status_code == status
    assert response["Content-Range"] == content_range


# --- 6. upload slots cannot leak past the limit --------------------------------------


def test_uploads_outlasting_their_count_do_not_lift_the_limit(settings, monkeypatch):
    """Two uploads run while their count expires; a third starts (a new count); the two
    end. The user is still held to the limit: the ended two do not count the new one
    down."""
    from rest_framework.exceptions import Throttled

    from glance_api import uploadslots

    settings.GLANCE_API = {**settings.GLANCE_API, "UPLOADS_PER_USER": 2}
    cache = caches[app_settings.CACHE_ALIAS]
    user = f"user-{uuid.uuid4().hex}"
    first, second = uploadslots.upload_slot(user), uploadslots.upload_slot(user)
    first.__enter__()
    second.__enter__()
    for key in [k for k in cache._cache if uploadslots._key(user).split(":")[-1] in k]:
        cache.delete(key.split(":", 2)[-1])  # the count (and its epoch) expire
    with uploadslots.upload_slot(user):
        first.__exit__(None, None, None)
        second.__exit__(None, None, None)
        with uploadslots.upload_slot(user):
            with pytest.raises(Throttled):  # two running: a third is refused
                with uploadslots.upload_slot(user):
                    pass


# --- 7. no drain that could wait on a socket it cannot time ---------------------------


def test_without_the_servers_socket_a_trickled_body_is_left_to_the_server():
    """mod_wsgi or uWSGI: the input is a stream off the connection, and no socket is
    given; a client that sends nothing more does not hold the thread."""
    import socket
    import time

    from django.core.handlers.wsgi import WSGIRequest
    from django.test.client import RequestFactory

    from glance_api import draining

    server_side, client_side = socket.socketpair()
    server_side.settimeout(3)  # (without the fix, the read waits this long)
    client_side.sendall(b"x" * 10)  # of 1,000,000: the client trickles, then stops
    with server_side, client_side, server_side.makefile("rb") as stream:
        environ = RequestFactory()._base_environ(
            REQUEST_METHOD="PUT", CONTENT_LENGTH="1000000", **{"wsgi.input": stream}
        )
        started = time.monotonic()
        assert draining.drain(WSGIRequest(environ)) == 0
        assert time.monotonic() - started < 1


# --- 8. a file kept aside for its formats is kept up to SPOOL_MAX_BYTES ----------------


def test_a_spooled_file_stops_at_spool_max_bytes(settings, tmp_path):
    from glance_api.exceptions import RequestTooLarge
    from glance_api.services import SpooledUpload

    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    settings.GLANCE_API = {**settings.GLANCE_API, "SPOOL_MAX_BYTES": 100_000}
    upload = SpooledUpload(glance=None)
    for _ in range(10):
        upload.send(b"x" * 10_000)
    with pytest.raises(RequestTooLarge) as refused:
        upload.send(b"x")
    assert "SPOOL_MAX_BYTES" in str(refused.value.detail)
    assert upload.size == 100_000
    upload.discard()


def _multipart_formats_last(boundary: str = "XB") -> bytes:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="data"; filename="disk.raw"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    fields = {
        "name": "spooled",
        "source_type": "file-legacy",
        "disk_format": "raw",
        "container_format": "bare",
        "visibility": "private",
        "protected": "false",
    }
    tail = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    )
    return head.encode() + b"\0" * 300_000 + f"\r\n{tail}--{boundary}--\r\n".encode()


def test_a_multipart_create_with_its_formats_last_is_bounded(demo_client, glance_demo, settings):
    """With the format inspector (oslo.utils 7.3 on) the file streams to Glance and no cap
    applies; without it (the oldest combination's oslo.utils 7.1) it is kept aside, and
    past SPOOL_MAX_BYTES the create is a 413 that leaves no image."""
    from glance_api.services import can_inspect_formats

    settings.GLANCE_API = {**settings.GLANCE_API, "SPOOL_MAX_BYTES": 100_000}
    answer = demo_client.generic(
        "POST", IMAGES, _multipart_formats_last(), content_type="multipart/form-data; boundary=XB"
    )
    made = [image["id"] for image in glance_demo.images.list(filters={"name": "spooled"})]
    for image_id in made:
        glance_demo.images.delete(image_id)
    if can_inspect_formats():
        assert answer.status_code == 201, answer.content
    else:
        assert answer.status_code == 413, answer.content
        assert "SPOOL_MAX_BYTES" in answer.json()["detail"] and made == []


# --- 9. sign-out by POST only, with its CSRF check, on Django 4.2 too -----------------


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


# --- 12. an upload's path without its final slash works, however it comes -------------

ACCEL_SECRET = "test-accel-secret"


@pytest.mark.parametrize("suffix", ["file", "stage"])
def test_nginx_authorizes_an_image_upload_without_the_final_slash(
    admin_client, admin_token, app_settings, make_image, suffix
):
    app_settings.GLANCE_API = {**app_settings.GLANCE_API, "ACCEL_SECRET": ACCEL_SECRET}
    image = make_image()
    answer = admin_client.get(
        f"{API}/_accel/upload/",
        HTTP_X_GLANCE_API_ACCEL=ACCEL_SECRET,
        HTTP_X_ORIGINAL_URI=f"{IMAGES}{image['id']}/{suffix}",
        HTTP_X_ORIGINAL_METHOD="PUT",
        HTTP_CONTENT_TYPE=OCTETS,
    )
    if answer.status_code == 403:  # Glance before 2.17: the app inspects the upload itself
        assert answer["X-Refusal-Status"] == "via-app" and suffix == "file"
        return
    assert answer.status_code == 204, answer.content
    assert answer["X-Glance-Path"] == f"/v2/images/{image['id']}/{suffix}"


def test_an_upload_url_without_the_final_slash_takes_the_data(
    demo_client, anon_client, glance_demo
):
    created = demo_client.post(IMAGES, direct_create("unslashed"), format="json").json()
    try:
        answer = anon_client.put(
            created["upload_url"].rstrip("/"), data=b"z" * 1000, content_type=OCTETS
        )
        assert answer.status_code == 200, answer.content
        assert glance_demo.images.get(created["id"])["size"] == 1000
    finally:
        glance_demo.images.delete(created["id"])

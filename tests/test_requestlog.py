"""Request ids (X-OpenStack-Request-ID, passed to Glance) and the JSON request log."""

import io
import json
import logging
import re
import secrets
import time
import uuid

import pytest

from devcloud.cloud import GLANCE_ACCESS_LOG
from tests.helpers import API, IMAGES, direct_create

REQUEST_ID = re.compile(r"req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def glance_log_lines(request_id: str, timeout: float = 5, at_least: int = 1) -> list[str]:
    """The lines of the dev cloud's Glance access log with this request id, once there are
    ``at_least`` of them (Glance writes a line after it answers: the app may have its
    answer first), and a moment more for any later one."""
    deadline = time.monotonic() + timeout

    def read() -> list[str]:
        return [
            line
            for line in GLANCE_ACCESS_LOG.read_text().splitlines()
            if line.endswith(f" {request_id}")
        ]

    while len(read()) < at_least and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)
    return read()


def logged(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "glance_api.requests"]


def test_every_answer_has_a_request_id(admin_client, anon_client):
    ids = {
        admin_client.get("/api/glance/version/")["X-OpenStack-Request-ID"],
        admin_client.get(f"{IMAGES}{uuid.uuid4()}/")["X-OpenStack-Request-ID"],
        anon_client.get(IMAGES)["X-OpenStack-Request-ID"],
    }
    assert len(ids) == 3 and all(REQUEST_ID.fullmatch(i) for i in ids)


@pytest.mark.parametrize(
    "sent, kept",
    [
        (f"req-{uuid.uuid4()}", True),
        ("req-not-a-uuid", False),
        (f"req-{uuid.uuid4()}\nX-Injected: 1", False),
        (f"{uuid.uuid4()}", False),
    ],
)
def test_a_valid_request_id_from_the_client_is_kept(admin_client, sent, kept):
    answered = admin_client.get("/api/glance/version/", HTTP_X_OPENSTACK_REQUEST_ID=sent)
    request_id = answered["X-OpenStack-Request-ID"]
    assert (request_id == sent) is kept and REQUEST_ID.fullmatch(request_id)


def test_the_request_id_reaches_glance(admin_client, make_image):
    image = make_image()
    sent = f"req-{uuid.uuid4()}"
    admin_client.get(f"{IMAGES}{image['id']}/", HTTP_X_OPENSTACK_REQUEST_ID=sent)
    lines = glance_log_lines(sent)
    assert any(f"GET /v2/images/{image['id']} " in line for line in lines), lines


def test_a_streamed_upload_carries_the_request_id_to_glance(admin_client, cleanup_images):
    sent = f"req-{uuid.uuid4()}"
    response = admin_client.post(
        IMAGES,
        {
            "name": "request-id",
            "source_type": "file-legacy",
            "disk_format": "raw",
            "visibility": "private",
            "protected": False,
            "data": io.BytesIO(b"x" * 10_000),
        },
        format="multipart",
        HTTP_X_OPENSTACK_REQUEST_ID=sent,
    )
    assert response.status_code == 201, response.content
    cleanup_images.append(response.json()["id"])
    lines = glance_log_lines(sent, at_least=2)  # the create, then the upload
    assert any(f"PUT /v2/images/{response.json()['id']}/file " in line for line in lines), lines


def test_one_json_line_per_request(admin_client, admin_token, make_image, caplog):
    image = make_image()
    caplog.set_level(logging.INFO, logger="glance_api.requests")
    caplog.clear()
    response = admin_client.get(f"{IMAGES}{image['id']}/properties/")
    (line,) = logged(caplog)
    assert line["request_id"] == response["X-OpenStack-Request-ID"]
    assert (line["method"], line["path"], line["status"]) == (
        "GET",
        f"{IMAGES}{image['id']}/properties/",
        200,
    )
    assert line["user_id"] and line["project_id"] and line["duration_ms"] > 0
    assert line["glance_calls"] >= 1 and line["glance_ms"] > 0
    assert all(admin_token not in r.getMessage() for r in caplog.records)


def test_the_log_keeps_no_upload_secret(admin_client, anon_client, caplog):
    created = admin_client.post(
        IMAGES,
        direct_create("log-secret"),
        format="json",
    ).json()
    try:
        secret = created["upload_url"].rstrip("/").rsplit("/", 1)[1]
        caplog.set_level(logging.INFO, logger="glance_api.requests")
        answer = anon_client.put(
            created["upload_url"], b"x" * 100, content_type="application/octet-stream"
        )
        assert answer.status_code in (200, 204), answer.content
        (line,) = [line for line in logged(caplog) if line["method"] == "PUT"]
        assert line["path"].endswith("/uploads/<secret>/") and line["glance_calls"] >= 1
        assert all(secret not in r.getMessage() for r in caplog.records)
    finally:
        admin_client.delete(f"{IMAGES}{created['id']}/")


@pytest.mark.parametrize(
    "path, second",
    [
        # the versions document is the same for every caller of a Glance
        ("/api/glance/version/", "demo_client"),
        # resource types are cached per caller scope (an operator may restrict them)
        ("/api/glance/metadefs/resourcetypes/", "admin_client"),
    ],
)
def test_version_and_resource_types_are_cached_per_glance(
    admin_client, demo_client, anon_client, settings, closed_port, caplog, path, second
):
    caplog.set_level(logging.INFO, logger="glance_api.requests")
    first = admin_client.get(path)
    again = {"demo_client": demo_client, "admin_client": admin_client}[second].get(path)
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    calls = [line["glance_calls"] for line in logged(caplog)]
    assert calls[0] >= 1 and calls[1] == 0
    assert anon_client.get(path).status_code == 401  # still needs a valid token
    settings.GLANCE_API = {**settings.GLANCE_API, "GLANCE_URL": f"http://127.0.0.1:{closed_port}"}
    assert demo_client.get(path).status_code == 503  # another Glance: not from the cache


@pytest.mark.parametrize(
    "path, body",
    [
        (
            "",
            {
                "name": "two-calls",
                "min_ram": 64,
                "disk_format": "raw",
                "visibility": "private",
                "protected": False,
            },
        ),
        ("properties/", {"updated": {"os_distro": "arch"}, "removed": ["hw_disk_bus"]}),
    ],
)
def test_an_update_costs_glance_one_read_and_one_patch(admin_client, make_image, path, body):
    """The patch is built from the image the API read: no second GET before the PATCH
    (as glanceclient's ``images.update`` makes) and none after it."""
    image = make_image(os_distro="debian", hw_disk_bus="virtio")
    admin_client.get(f"{IMAGES}{image['id']}/")  # the image schema, kept per process
    sent = f"req-{uuid.uuid4()}"
    response = admin_client.patch(
        f"{IMAGES}{image['id']}/{path}",
        body,
        format="json",
        HTTP_X_OPENSTACK_REQUEST_ID=sent,
        HTTP_PREFER="return=representation",
    )
    assert response.status_code in (200, 204), response.content
    lines = glance_log_lines(sent, at_least=2)
    calls = [line.split('"')[1].rsplit(" ", 1)[0] for line in lines]
    assert calls == [f"GET /v2/images/{image['id']}", f"PATCH /v2/images/{image['id']}"]
    now = admin_client.get(f"{IMAGES}{image['id']}/").json()
    if path:
        assert now["properties"]["os_distro"] == "arch" and "hw_disk_bus" not in now["properties"]
    else:
        assert (now["name"], now["min_ram"]) == ("two-calls", 64)
        assert response.json()["name"] == "two-calls"
        assert now["properties"]["hw_disk_bus"] == "virtio"


# --- logs: no upload secret in request lines; the client's address -----------------------
# (security review two, findings 11 and 12)


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


# --- no log carries a live upload secret or a token, whatever the status -----------------
# (security review three, finding 2)

OCTETS = "application/octet-stream"


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
    from glance_api import keystone
    from glance_api.dataplane import uploadslots

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


def test_at_debug_a_call_is_one_line_and_no_answer_s_body(demo_client, make_image, caplog):
    """With every logger at DEBUG (a Horizon with DEBUG on calls
    ``logging.basicConfig(level=DEBUG)``): a list logs a line per call to Glance, with
    its URL and status, and not keystoneauth's dump of each answer's body (1.5 MB for a
    list of 1,000 images, which made Horizon's images panel five times as slow)."""
    name = f"debug-{uuid.uuid4().hex[:8]}"
    make_image(as_demo=True, name=name, x_kept_out_of_logs="a-value-of-the-image")
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, "glance_api.upstream"):
        assert demo_client.get(IMAGES, {"name": name}).status_code == 200
    assert "a-value-of-the-image" not in caplog.text and "RESP BODY" not in caplog.text
    calls = [r.getMessage() for r in caplog.records if r.name == "glance_api.upstream"]
    listed = [line for line in calls if "/v2/images?" in line and name in line]
    assert listed and all(": 200 in " in line for line in listed), calls

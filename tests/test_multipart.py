"""The multipart create (source_type file-legacy): the file goes to Glance as it is read.

The dashboard's client sends the file second, after ``source_type`` only, and the formats
after it: the image then takes the formats its data shows (oslo.utils' inspector).
"""

import hashlib
import json
import os
import socket
import time
import uuid

import pytest
from django.test import Client

from devcloud import config as devcloud
from devcloud.images import qcow2_image
from tests.helpers import IMAGES

BOUNDARY = "----glance-api-test-boundary"


def dashboard_fields(name: str, disk_format: str, **more) -> dict:
    """The fields of the dashboard's legacy upload after its file, in its order."""
    container = disk_format if disk_format in ("ami", "aki", "ari") else "bare"
    return {
        "is_copying": False,
        "protected": False,
        "min_disk": 0,
        "min_ram": 512,
        "container_format": container,
        "disk_format": disk_format,
        "visibility": "private",
        "name": name,
        **more,
    }


def dashboard_parts(data: bytes, fields: dict) -> list[tuple]:
    """Parts as ng-file-upload sends them: source_type, the file, the rest as text, then
    ``$$originalJSON`` with the typed values."""
    as_text = {k: json.dumps(v) if isinstance(v, bool) else str(v) for k, v in fields.items()}
    typed = {"source_type": "file-legacy", "data": {}, **fields}
    return [
        ("source_type", "file-legacy"),
        ("data", ("disk.img", data)),
        *as_text.items(),
        ("$$originalJSON", json.dumps(typed)),
    ]


def encode(parts: list[tuple]) -> bytes:
    body = b""
    for name, value in parts:
        body += f"--{BOUNDARY}\r\n".encode()
        if isinstance(value, tuple):
            filename, content = value
            body += (
                f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode() + content
        else:
            body += f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}'.encode()
        body += b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


def post(client, parts, **headers):
    return client.generic(
        "POST",
        IMAGES,
        encode(parts),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        **headers,
    )


def image_ids(glance) -> set[str]:
    return {image["id"] for image in glance.images.list()}


@pytest.mark.parametrize("kind", ["raw", "qcow2"])
def test_dashboard_order_takes_the_format_from_the_data(
    admin_client, glance_admin, cleanup_images, kind
):
    data = os.urandom(700_000) if kind == "raw" else qcow2_image(1024 * 1024)
    name = f"multipart-{uuid.uuid4().hex[:8]}"
    response = post(
        admin_client, dashboard_parts(data, dashboard_fields(name, kind, os_distro="x"))
    )
    assert response.status_code == 201, response.content
    body = response.json()
    cleanup_images.append(body["id"])
    held = glance_admin.images.get(body["id"])
    assert (held["disk_format"], held["container_format"]) == (kind, "bare")
    assert (held["name"], held["min_ram"], held["visibility"], held["status"]) == (
        name,
        512,
        "private",
        "active",
    )
    assert held["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert held["os_distro"] == "x" and "is_copying" not in held and "$$originalJSON" not in held


def test_a_format_glance_cannot_take_after_the_data_is_400_and_leaves_nothing(
    admin_client, glance_admin
):
    before = image_ids(glance_admin)
    name = f"multipart-{uuid.uuid4().hex[:8]}"
    response = post(
        admin_client, dashboard_parts(os.urandom(100_000), dashboard_fields(name, "ami"))
    )
    assert response.status_code == 400, response.content
    assert "disk_format" in response.json() and "file-direct" in response.json()["disk_format"][0]
    assert image_ids(glance_admin) == before


def test_fields_before_the_file_set_the_format(admin_client, glance_admin, cleanup_images):
    """An API client that sends the formats first: any format, here one no data shows."""
    name = f"multipart-{uuid.uuid4().hex[:8]}"
    fields = dashboard_fields(name, "ami")
    parts = [
        ("source_type", "file-legacy"),
        *((k, str(v)) for k, v in fields.items()),
        ("data", ("kernel.img", b"\x01" * 50_000)),
    ]
    response = post(admin_client, parts)
    assert response.status_code == 201, response.content
    cleanup_images.append(response.json()["id"])
    held = glance_admin.images.get(response.json()["id"])
    assert (held["disk_format"], held["container_format"], held["size"]) == ("ami", "ami", 50_000)


@pytest.mark.parametrize(
    "parts, field",
    [
        ([("source_type", "url"), ("data", ("x.img", b"x" * 10))], "data"),
        ([("disk_format", "floppy"), ("data", ("x.img", b"x" * 10))], "disk_format"),
        ([("other", ("x.img", b"x" * 10))], "other"),
    ],
)
def test_a_file_that_cannot_be_taken_is_400_before_any_image(
    admin_client, glance_admin, parts, field
):
    before = image_ids(glance_admin)
    response = post(admin_client, parts)
    assert response.status_code == 400, response.content
    assert field in json.dumps(response.json())
    assert image_ids(glance_admin) == before


def test_other_endpoints_take_no_file(admin_client, make_image):
    image = make_image()
    response = admin_client.generic(
        "POST",
        f"{IMAGES}{image['id']}/members/",
        encode([("data", ("x.img", b"x"))]),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )
    assert response.status_code == 400 and "takes no file" in response.json()["detail"]


def send_slowly(live_server, token: str, body: bytes, pause_after: int, during):
    """POST ``body`` to the live server, pausing after ``pause_after`` bytes to call
    ``during()``; the raw answer."""
    host, port = live_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            f"POST {IMAGES} HTTP/1.1\r\nHost: {host}\r\nX-Auth-Token: {token}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        sock.sendall(body[:pause_after])
        during(sock)
        sock.settimeout(60)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and b"Connection: close" not in answer:
                head, _, rest = answer.partition(b"\r\n\r\n")
                length = [
                    line
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ]
                if length and len(rest) >= int(length[0].split(b":")[1]):
                    break
    return answer


def test_the_data_reaches_glance_before_the_body_ends(
    live_server, admin_token, glance_admin, cleanup_images
):
    data = os.urandom(4 * 1024 * 1024)
    name = f"multipart-{uuid.uuid4().hex[:8]}"
    body = encode(dashboard_parts(data, dashboard_fields(name, "raw")))
    before = image_ids(glance_admin)
    seen = {}

    def meanwhile(sock):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not seen:
            for image in glance_admin.images.list():
                if image["id"] not in before and image["status"] == "saving":
                    seen.update(image)
            time.sleep(0.1)
        sock.sendall(body[3 * 1024 * 1024 :])

    answer = send_slowly(live_server, admin_token, body, 3 * 1024 * 1024, meanwhile)
    assert seen, "Glance had no image saving data while the body was still arriving"
    cleanup_images.append(seen["id"])
    assert b" 201 " in answer.partition(b"\r\n")[0], answer[:600]
    created = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert created["id"] == seen["id"] and created["name"] == name
    assert created["os_hash_value"] == hashlib.sha512(data).hexdigest()


def test_a_body_cut_off_in_the_file_leaves_no_image(live_server, admin_token, glance_admin):
    body = encode(dashboard_parts(os.urandom(2 * 1024 * 1024), dashboard_fields("cut", "raw")))
    before = image_ids(glance_admin)
    answer = send_slowly(
        live_server, admin_token, body, 1024 * 1024, lambda sock: sock.shutdown(socket.SHUT_WR)
    )
    assert b" 400 " in answer.partition(b"\r\n")[0], answer[:600]
    assert b"ended inside the file" in answer
    assert image_ids(glance_admin) == before


def test_a_signed_in_form_sends_its_csrf_token_before_the_file(
    clouds, glance_demo, transactional_db
):
    client = Client(enforce_csrf_checks=True)
    login_page = client.get("/api-auth/login/")
    csrf = login_page.cookies["csrftoken"].value
    client.post(
        "/api-auth/login/",
        {"username": "demo", "password": devcloud.DEMO.password, "csrfmiddlewaretoken": csrf},
    )
    before = image_ids(glance_demo)
    name = f"multipart-{uuid.uuid4().hex[:8]}"
    fields = [
        ("source_type", "file-legacy"),
        ("name", name),
        ("disk_format", "raw"),
        ("visibility", "private"),
        ("protected", "false"),
    ]
    refused = post(client, [*fields, ("data", ("x.img", b"x" * 1000))])
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert image_ids(glance_demo) == before
    response = post(
        client,
        [
            ("csrfmiddlewaretoken", client.cookies["csrftoken"].value),
            *fields,
            ("data", ("x.img", b"x" * 1000)),
        ],
    )
    assert response.status_code == 201, response.content
    glance_demo.images.delete(response.json()["id"])


def test_data_that_is_not_the_format_sent_first_is_400_and_leaves_nothing(
    admin_client, glance_admin
):
    before = image_ids(glance_admin)
    parts = [
        ("source_type", "file-legacy"),
        ("disk_format", "qcow2"),
        ("name", "mismatch"),
        ("visibility", "private"),
        ("protected", "false"),
        ("data", ("disk.qcow2", os.urandom(300_000))),
    ]
    response = post(admin_client, parts)
    assert response.status_code == 400, response.content
    assert "not qcow2" in response.json()["detail"]
    assert image_ids(glance_admin) == before


# --- a file kept aside for its formats is kept up to SPOOL_MAX_BYTES ---------------------
# (security review three, finding 8)


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

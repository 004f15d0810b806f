"""Image data and lifecycle against the real dev cloud: bytes both ways, stage and
import, stores, formats, media types."""

import base64
import hashlib
import os
import socket
import uuid

import pytest

from devcloud.images import qcow2_image
from tests.helpers import IMAGES, put_bytes, url, wait_until


@pytest.fixture(scope="module")
def payload() -> bytes:
    return os.urandom(5 * 1024 * 1024 + 123)


def test_upload_then_download_streams_the_bytes(admin_client, glance_admin, make_image, payload):
    image = make_image(name="disk one.raw")
    response = put_bytes(admin_client, url(image["id"], "file/"), payload)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "active" and body["size"] == len(payload)
    assert body["os_hash_value"] == hashlib.sha512(payload).hexdigest()

    download = admin_client.get(url(image["id"], "file/"))
    assert download.status_code == 200 and download.streaming
    received = b"".join(download.streaming_content)
    assert (
        hashlib.sha512(received).hexdigest()
        == glance_admin.images.get(image["id"])["os_hash_value"]
    )
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Length"] == str(len(payload))
    assert 'filename="disk one.raw"' in download["Content-Disposition"]
    assert download["X-Image-Checksum"] == hashlib.md5(payload).hexdigest()
    assert download["X-Image-Os-Hash-Algo"] == "sha512"
    digest = base64.b64encode(hashlib.sha512(payload).digest()).decode()
    assert download["Repr-Digest"] == f"sha-512=:{digest}:"


def test_download_asking_for_octet_stream(demo_client, make_image):
    image = make_image(as_demo=True, data=b"abc" * 1000)
    response = demo_client.get(url(image["id"], "file/"), HTTP_ACCEPT="application/octet-stream")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"abc" * 1000


def test_download_without_data_is_204(admin_client, make_image):
    image = make_image()
    assert admin_client.get(url(image["id"], "file/")).status_code == 204


def test_upload_to_an_image_with_data_is_409(admin_client, glance_admin, make_image):
    image = make_image(data=b"first")
    response = put_bytes(admin_client, url(image["id"], "file/"), b"second")
    assert response.status_code == 409
    assert glance_admin.images.get(image["id"])["size"] == len(b"first")


def test_upload_to_unknown_image_is_404(admin_client):
    assert put_bytes(admin_client, url(str(uuid.uuid4()), "file/"), b"x").status_code == 404


@pytest.mark.django_db
def test_upload_cut_off_leaves_the_image_without_data(
    live_server, admin_token, glance_admin, make_image
):
    image = make_image()
    host, port = live_server.url.removeprefix("http://").split(":")
    announced, sent = 4 * 1024 * 1024, 1024 * 1024
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            f"PUT {url(image['id'], 'file/')} HTTP/1.1\r\nHost: {host}\r\n"
            f"X-Auth-Token: {admin_token}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {announced}\r\n\r\n".encode()
        )
        sock.sendall(b"\0" * sent)
        sock.shutdown(socket.SHUT_WR)  # the body ends here; the answer can still come
        sock.settimeout(30)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 400 " in status_line, answer
    assert f"ended after {sent} of {announced} bytes".encode() in rest
    held = wait_until(glance_admin, image["id"], lambda i: i["status"] != "saving")
    assert held["status"] == "queued" and not held.get("size")


def test_stage_then_glance_direct_import(admin_client, glance_admin, make_image):
    image = make_image()
    data = b"staged" * 10000
    staged = put_bytes(admin_client, url(image["id"], "stage/"), data)
    assert staged.status_code == 200, staged.content
    assert staged.json()["status"] == "uploading"
    response = admin_client.post(
        url(image["id"], "import/"), {"method": "glance-direct"}, format="json"
    )
    assert response.status_code == 202, response.content
    held = wait_until(glance_admin, image["id"], lambda i: i["status"] == "active")
    assert held["checksum"] == hashlib.md5(data).hexdigest()


def test_web_download_import(admin_client, glance_admin, make_image, file_server):
    image = make_image()
    data = b"fetched" * 10000
    uri = file_server.serve("/fetched.raw", data)
    response = admin_client.post(
        url(image["id"], "import/"), {"method": "web-download", "uri": uri}, format="json"
    )
    assert response.status_code == 202, response.content
    held = wait_until(glance_admin, image["id"], lambda i: i["status"] == "active")
    assert held["size"] == len(data)


def test_copy_image_to_the_second_store(admin_client, glance_admin, make_image):
    image = make_image(data=b"copy me" * 1000)
    assert glance_admin.images.get(image["id"])["stores"] == "fs"
    response = admin_client.post(
        url(image["id"], "import/"), {"method": "copy-image", "stores": ["fs2"]}, format="json"
    )
    assert response.status_code == 202, response.content
    held = wait_until(
        glance_admin, image["id"], lambda i: set(i.get("stores", "").split(",")) == {"fs", "fs2"}
    )
    detail = admin_client.get(url(image["id"])).json()
    assert set(detail["stores"].split(",")) == {"fs", "fs2"}
    assert "os_glance_failed_import" in detail["properties"]
    assert held["status"] == "active"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"method": "web-download"}, "uri"),
        ({"method": "web-download", "uri": "file:///etc/passwd"}, "uri"),
        ({"method": "glance-direct", "uri": "http://example.com/x"}, "uri"),
        ({"method": "copy-image"}, "stores"),
        ({"method": "copy-image", "stores": ["fs2"], "all_stores": True}, "stores"),
        ({"method": "teleport"}, "method"),
    ],
)
def test_bad_import_is_400(admin_client, glance_admin, make_image, body, field):
    image = make_image()
    response = admin_client.post(url(image["id"], "import/"), body, format="json")
    assert response.status_code == 400 and field in response.json()
    assert glance_admin.images.get(image["id"])["status"] == "queued"


def test_paths_without_the_trailing_slash(admin_client, glance_admin, make_image):
    image = make_image(color="blue")
    response = admin_client.patch(
        url(image["id"], "properties"), {"updated": {"color": "red"}}, format="json"
    )
    assert response.status_code == 204
    assert glance_admin.images.get(image["id"])["color"] == "red"
    assert admin_client.get(f"{IMAGES}{image['id']}").status_code == 200


def test_upload_of_another_format_is_400_and_the_image_still_takes_its_data(
    admin_client, glance_admin, make_image
):
    """Glance would store the bytes before refusing them, and then refuse every later
    upload to the image: the API ends the body before Glance has it all."""
    image = make_image(disk_format="qcow2")
    refused = put_bytes(admin_client, url(image["id"], "file/"), b"\x89PNG\r\n\x1a\n" + b"x" * 600)
    assert refused.status_code == 400
    assert "not qcow2" in refused.json()["detail"]
    assert glance_admin.images.get(image["id"])["status"] == "queued"
    disk = qcow2_image(1024 * 1024)
    accepted = put_bytes(admin_client, url(image["id"], "file/"), disk)
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["status"] == "active" and accepted.json()["size"] == len(disk)


@pytest.mark.parametrize("suffix", ["file/", "stage/"])
def test_an_upload_declared_as_json_is_a_415_and_changes_nothing(
    demo_client, glance_demo, make_image, suffix
):
    """Issue 27: it was streamed to Glance as bytes, where the schema documents a 415."""
    image = make_image(as_demo=True)
    response = demo_client.generic(
        "PUT", url(image["id"], suffix), b'{"name": "x"}', content_type="application/json"
    )
    assert response.status_code == 415, response.content
    assert response.json() == {
        "detail": 'Unsupported media type "application/json" in request.',
        "code": "unsupported_media_type",
    }
    assert glance_demo.images.get(image["id"])["status"] == "queued"


def test_an_upload_without_a_content_type_is_taken_as_bytes(demo_client, make_image):
    """curl -T and requests send none."""
    image = make_image(as_demo=True)
    response = demo_client.generic("PUT", url(image["id"], "file/"), b"bytes", content_type="")
    assert response.status_code == 200, response.content
    assert response.json()["size"] == 5

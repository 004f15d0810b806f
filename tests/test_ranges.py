"""Ranged and conditional downloads of an image's file, and HEAD (issue 24), against the
dev cloud's file store, which reads byte ranges."""

import hashlib
import os
import subprocess
import types

import pytest

from devcloud.cloud import GLANCE_ACCESS_LOG
from glance_api.dataplane import ranges
from tests.helpers import IMAGES

DATA = os.urandom(300_000)


@pytest.fixture
def image(make_image):
    return make_image(data=DATA, name="ranged")


def _get(client, image, **headers):
    return client.get(
        f"{IMAGES}{image['id']}/file/",
        HTTP_ACCEPT="application/octet-stream",
        **{f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()},
    )


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize(
    "header, first, last",
    [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-", 1000, len(DATA) - 1),
        ("bytes=-500", len(DATA) - 500, len(DATA) - 1),
        ("bytes=299990-400000", 299_990, len(DATA) - 1),
    ],
)
def test_a_single_range_is_a_206_with_exactly_those_bytes(admin_client, image, header, first, last):
    response = _get(admin_client, image, Range=header)
    assert response.status_code == 206, response
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(DATA)}"
    assert response["Content-Length"] == str(last - first + 1)
    assert _body(response) == DATA[first : last + 1]
    assert response["ETag"] == f'"{hashlib.sha512(DATA).hexdigest()}"'


def test_a_range_past_the_end_is_416_with_the_size(admin_client, image):
    response = _get(admin_client, image, Range=f"bytes={len(DATA)}-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(DATA)}"


@pytest.mark.parametrize("header", ["bytes=0-9,20-29", "items=0-9", "bytes=9-2", "nonsense"])
def test_several_ranges_or_no_valid_range_get_the_whole_image(admin_client, image, header):
    response = _get(admin_client, image, Range=header)
    assert response.status_code == 200 and _body(response) == DATA


def test_if_range_with_a_stale_etag_gets_the_whole_image(admin_client, image):
    response = _get(admin_client, image, Range="bytes=0-9", If_Range='"stale"')
    assert response.status_code == 200 and _body(response) == DATA
    etag = ranges.file_etag(image)
    response = _get(admin_client, image, Range="bytes=0-9", If_Range=etag)
    assert response.status_code == 206 and _body(response) == DATA[:10]


def test_if_none_match_with_the_files_etag_is_304(admin_client, image):
    etag = _get(admin_client, image)["ETag"]
    response = _get(admin_client, image, If_None_Match=etag)
    assert response.status_code == 304 and response["ETag"] == etag
    assert _get(admin_client, image, If_None_Match='"other"').status_code == 200


def test_head_gives_the_headers_without_reading_the_data_from_glance(admin_client, image):
    before = GLANCE_ACCESS_LOG.read_text(errors="replace").count(
        f"GET /v2/images/{image['id']}/file"
    )
    response = admin_client.head(
        f"{IMAGES}{image['id']}/file/", HTTP_ACCEPT="application/octet-stream"
    )
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(DATA))
    assert response["Accept-Ranges"] == "bytes" and response["ETag"]
    assert response["X-Image-Os-Hash-Value"] == hashlib.sha512(DATA).hexdigest()
    assert _body(response) == b""
    after = GLANCE_ACCESS_LOG.read_text(errors="replace").count(
        f"GET /v2/images/{image['id']}/file"
    )
    assert after == before


def test_head_of_an_image_without_data_is_204(admin_client, make_image):
    empty = make_image(name="empty")
    assert admin_client.head(f"{IMAGES}{empty['id']}/file/").status_code == 204


def test_curl_resumes_a_download_cut_off_halfway(live_server, admin_token, image, tmp_path):
    """``curl -C -`` resumes from what it has: the result is the image, by sha512."""
    part = tmp_path / "image.raw"
    part.write_bytes(DATA[: len(DATA) // 2])  # the first half, as a cut-off download left it
    url = f"{live_server.url}{IMAGES}{image['id']}/file/"
    subprocess.run(
        [
            "curl",
            "-sS",
            "-f",
            "-C",
            "-",
            "-o",
            str(part),
            "-H",
            f"X-Auth-Token: {admin_token}",
            url,
        ],
        check=True,
        timeout=60,
    )
    assert hashlib.sha512(part.read_bytes()).hexdigest() == hashlib.sha512(DATA).hexdigest()


def test_a_store_that_reads_no_ranges_gives_the_whole_image(
    admin_client, glance_admin, file_server, cleanup_images, app_settings
):
    """An image whose data is a URL (Glance's http store, which reads no ranges: Glance
    answers a range with a 400): an honest 200 with every byte, never a wrong 206. Such
    an image needs the locations API (Glance 2024.2 and later): on an older Glance the
    app refuses to make one (tests/test_images.py), so there is none to read."""
    app_settings.GLANCE_API = {**app_settings.GLANCE_API, "ALLOW_IMAGE_LOCATION": True}
    url = file_server.serve("/no-ranges.raw", DATA)
    created = admin_client.post(
        "/api/glance/images/",
        {
            "name": "no ranges",
            "source_type": "url",
            "image_url": url,
            "disk_format": "raw",
            "visibility": "private",
            "protected": False,
        },
        format="json",
    )
    if lacks_locations(created, glance_admin):
        return
    image = created.json()
    cleanup_images.append(image["id"])
    response = _get(admin_client, image, Range="bytes=10-19")
    assert response.status_code == 200
    assert _body(response) == DATA
    assert response["Content-Length"] == str(len(DATA))
    assert "Content-Range" not in response
    assert response["Accept-Ranges"] == "none"


# --- a Range of any length is answered, never a 500 --------------------------------------
# (security review three, finding 3)

OCTETS = "application/octet-stream"

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


def lacks_locations(created, glance_admin) -> bool:
    """Whether the create of an image kept at its URL was refused because this Glance lacks
    the locations API (2.17): only there is a 501 naming v2.17 right; elsewhere the image
    is made (201). Any other answer fails."""
    if not any(v["id"] == "v2.17" for v in glance_admin.versions.list()):
        assert created.status_code == 501, created.content
        assert "v2.17" in created.json()["detail"]
        return True
    assert created.status_code == 201, created.content
    return False


def test_the_wrong_answer_for_this_glance_fails_that_check(glance_admin):
    """Issue 33: the test once returned early on any 501, so an app that refused on a
    Glance that has 2.17 passed it. The answer this Glance should not give fails now."""
    has_locations = any(v["id"] == "v2.17" for v in glance_admin.versions.list())
    wrong = types.SimpleNamespace(
        status_code=501 if has_locations else 201,
        content=b"",
        json=lambda: {"detail": "Glance v2.17 is needed", "id": "x"},
    )
    with pytest.raises(AssertionError):
        lacks_locations(wrong, glance_admin)

"""Image bytes carried by nginx (issue 25), through the real stack (nginx, two instances,
Redis): the app checks and answers with the headers, nginx streams the bytes between the
client and Glance; no token reaches a client or a log."""

import hashlib
import os
import threading
import time

import pytest
import requests

from deploy import stack
from devcloud import config as devcloud
from tests.helpers import log_line

API = "/api/glance"
NGINX = stack.NGINX_URL


@pytest.fixture
def image(make_image):
    data = os.urandom(3 * 1024 * 1024 + 17)
    return make_image(data=data, name="through nginx", visibility="public"), data


def nginx_logs() -> str:
    folder = stack.HOME / "nginx"
    return "".join(
        (folder / name).read_text(errors="replace")
        for name in ("access.log", "error.log")
        if (folder / name).exists()
    )


def test_a_download_is_streamed_by_nginx_bit_exact_with_the_apps_headers(
    instances, image, demo_token, glance_log
):
    made, data = image
    answer = requests.get(
        f"{NGINX}{API}/images/{made['id']}/file/", headers={"X-Auth-Token": demo_token}
    )
    assert answer.status_code == 200, answer.text
    assert hashlib.sha512(answer.content).hexdigest() == hashlib.sha512(data).hexdigest()
    # Glance's length; but a download Glance's cache middleware is caching is chunked
    # (Glance leaves Content-Length out then), so only a second one has it
    assert answer.headers.get("Content-Length", str(len(data))) == str(len(data))
    again = requests.get(
        f"{NGINX}{API}/images/{made['id']}/file/", headers={"X-Auth-Token": demo_token}
    )
    assert again.headers["Content-Length"] == str(len(data)) and again.content == data
    assert answer.headers["ETag"] == f'"{made["os_hash_value"]}"'
    assert answer.headers["X-Image-Checksum"] == made["checksum"]
    assert answer.headers["X-Image-Os-Hash-Value"] == made["os_hash_value"]
    assert answer.headers["Repr-Digest"].startswith("sha-512=:")
    assert "through nginx" in answer.headers["Content-Disposition"]
    assert "no-store" in answer.headers["Cache-Control"]
    for name in ("X-Glance-Token", "X-Glance-Range", "X-Accel-Redirect", "Content-MD5"):
        assert name not in answer.headers
    # the app made one Glance call (the image), and Glance served the bytes to nginx
    request_id = answer.headers["X-OpenStack-Request-ID"]
    line = next(log_line(i, request_id) for i in (0, 1) if _has_line(i, request_id))
    assert line["glance_calls"] <= 2  # the image (and its schema, on first use): no bytes
    assert glance_log.count(f"GET /v2/images/{made['id']}/file", 2) == 2


def _has_line(index: int, request_id: str) -> bool:
    log = devcloud.LOGS / f"stack-app-{index}.log"
    return f'"request_id": "{request_id}"' in log.read_text(errors="replace")


@pytest.mark.parametrize(
    "header, first, last",
    [("bytes=0-99", 0, 99), ("bytes=1000-", 1000, None), ("bytes=-500", None, None)],
)
def test_a_range_through_nginx_is_the_exact_bytes(
    instances, image, demo_token, header, first, last
):
    made, data = image
    expected = data[-500:] if first is None else data[first : None if last is None else last + 1]
    answer = requests.get(
        f"{NGINX}{API}/images/{made['id']}/file/",
        headers={"X-Auth-Token": demo_token, "Range": header},
    )
    assert answer.status_code == 206, answer.text
    assert answer.content == expected
    start = len(data) - 500 if first is None else first
    assert answer.headers["Content-Range"] == (
        f"bytes {start}-{start + len(expected) - 1}/{len(data)}"
    )


def test_a_stale_if_range_through_nginx_gets_the_whole_image(instances, image, demo_token):
    made, data = image
    answer = requests.get(
        f"{NGINX}{API}/images/{made['id']}/file/",
        headers={"X-Auth-Token": demo_token, "Range": "bytes=0-99", "If-Range": '"stale"'},
    )
    assert answer.status_code == 200
    assert answer.content == data


def test_refusals_through_nginx_are_json(instances, image, demo_token, glance_admin):
    made, _ = image
    unknown = requests.get(
        f"{NGINX}{API}/images/00000000-0000-0000-0000-000000000000/file/",
        headers={"X-Auth-Token": demo_token},
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    glance_admin.images.deactivate(made["id"])
    try:
        refused = requests.get(
            f"{NGINX}{API}/images/{made['id']}/file/", headers={"X-Auth-Token": demo_token}
        )
        assert refused.status_code == 403, refused.text
        assert refused.headers["Content-Type"] == "application/json"
        assert refused.json()["code"] == "permission_denied"
    finally:
        glance_admin.images.reactivate(made["id"])
    past_the_end = requests.get(
        f"{NGINX}{API}/images/{made['id']}/file/",
        headers={"X-Auth-Token": demo_token, "Range": "bytes=99999999-"},
    )
    assert past_the_end.status_code == 416
    assert past_the_end.json()["code"] == "range_not_satisfiable"


def test_the_secret_from_a_client_is_replaced(instances, image, demo_token):
    """A client that sends X-Glance-Api-Accel itself gets nothing of nginx's path's
    internals: nginx replaces the header, and an app asked directly with a wrong secret
    streams the bytes itself."""
    made, data = image
    direct = requests.get(
        f"{instances[0]}{API}/images/{made['id']}/file/",
        headers={"X-Auth-Token": demo_token, "X-Glance-Api-Accel": "guess"},
    )
    assert direct.status_code == 200 and direct.content == data
    assert "X-Glance-Token" not in direct.headers and "X-Accel-Redirect" not in direct.headers


def test_no_token_in_any_answer_header_or_nginx_log(instances, image, demo_token):
    made, _ = image
    for headers in ({}, {"Range": "bytes=0-9"}, {"Range": "bytes=99999999-"}):
        answer = requests.get(
            f"{NGINX}{API}/images/{made['id']}/file/",
            headers={"X-Auth-Token": demo_token, **headers},
        )
        assert demo_token not in str(answer.headers)
    assert demo_token not in nginx_logs()
    assert stack.accel_secret() not in nginx_logs()


def test_while_nginx_streams_a_download_no_app_thread_is_held(instances, make_image, demo_token):
    """20 downloads read slowly (a MiB each 0.4 s) take no app thread: meanwhile more
    requests than the stack has app threads (16) are all answered at once (``info/``:
    the caller's token, answered by the app without asking Glance, whose threads the
    downloads hold). Through the app's path, 16 of them would wait for the downloads."""
    data = os.urandom(32 * 1024 * 1024)
    made = make_image(data=data, name="slow reader", visibility="public")
    # read once whole first: 20 first downloads at once all race to fill Glance's image
    # cache (its cache middleware), and one of them broke off in 1 of ~6 runs
    assert (
        requests.get(
            f"{NGINX}{API}/images/{made['id']}/file/", headers={"X-Auth-Token": demo_token}
        ).content
        == data
    )
    # Each reader reads (slowly) as soon as its answer begins: a reader that waited for
    # the others before reading left its connection unread, and nginx cut it after
    # send_timeout (10 s) while Glance held back the others' answers (a CI run: 9 of 20
    # broken off at 4 MB). The check begins once every answer has.
    received, statuses, began = [], [], threading.Semaphore(0)

    def slow_reader():
        got = 0
        with requests.get(
            f"{NGINX}{API}/images/{made['id']}/file/",
            stream=True,
            headers={"X-Auth-Token": demo_token},
        ) as answer:
            statuses.append(answer.status_code)
            began.release()
            pace = 0
            for chunk in answer.iter_content(64 * 1024):
                got += len(chunk)
                if got // (1024 * 1024) > pace:  # a MiB more: wait
                    pace = got // (1024 * 1024)
                    time.sleep(0.4)
        received.append(got)

    readers = [threading.Thread(target=slow_reader) for _ in range(20)]
    for reader in readers:
        reader.start()
    for count in range(20):
        assert began.acquire(timeout=30), f"only {count} of 20 downloads began"
    answers = []

    def ask():
        answers.append(
            requests.get(f"{NGINX}{API}/info/", headers={"X-Auth-Token": demo_token}, timeout=10)
        )

    askers = [threading.Thread(target=ask) for _ in range(32)]
    start = time.monotonic()
    for asker in askers:
        asker.start()
    for asker in askers:
        asker.join()
    took = time.monotonic() - start
    running = sum(reader.is_alive() for reader in readers)
    assert [a.status_code for a in answers] == [200] * 32
    assert took < 3, f"32 requests took {took:.1f} s while {running} downloads ran"
    # more downloads than the stack has app threads (16) ran all along
    assert running > 16, (
        f"only {running} downloads were running during the check",
        statuses,
        received,
    )
    for reader in readers:
        reader.join(60)
    assert received == [len(data)] * 20


# --- uploads ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def carried(glance_admin) -> int:
    """An upload's answer: Glance's 204 where nginx carries it to Glance (a Glance that
    inspects uploads itself: API 2.17, 2024.2 on), else the app's 200 (2024.1: the app
    keeps its own check of a bare image's bytes, and nginx passes the upload to it)."""
    return 204 if any(v["id"] == "v2.17" for v in glance_admin.versions.list()) else 200


def _queued(client_token: str, **fields) -> dict:
    answer = requests.post(
        f"{NGINX}{API}/images/",
        headers={"X-Auth-Token": client_token},
        json={
            "name": f"carried-{os.urandom(3).hex()}",
            "source_type": "file-direct",
            "disk_format": "raw",
            "visibility": "private",
            "protected": False,
            **fields,
        },
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture
def queued(demo_token, glance_demo):
    made = []

    def make(**fields) -> dict:
        image = _queued(demo_token, **fields)
        made.append(image["id"])
        return image

    yield make
    for image_id in made:
        try:
            glance_demo.images.delete(image_id)
        except Exception:  # gone
            pass


def test_an_upload_is_streamed_by_nginx_to_glance_bit_exact(
    instances, queued, demo_token, glance_demo, glance_log, carried
):
    image, data = queued(), os.urandom(5 * 1024 * 1024 + 3)
    answer = requests.put(
        f"{NGINX}{API}/images/{image['id']}/file/",
        data=data,
        headers={"X-Auth-Token": demo_token, "Content-Type": "application/octet-stream"},
    )
    assert answer.status_code == carried, answer.text
    held = glance_demo.images.get(image["id"])
    assert held["status"] == "active"
    assert held["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert glance_log.count(f"PUT /v2/images/{image['id']}/file", 1) == 1
    # the app authorized it, and saw none of the bytes (or, on 2024.1, sent them itself)
    request_id = answer.headers["X-OpenStack-Request-ID"]
    line = next(log_line(i, request_id) for i in (0, 1) if _has_line(i, request_id))
    if carried == 204:
        assert line["path"].endswith("/_accel/upload/") and line["status"] == 204
    else:
        assert line["path"].endswith(f"/images/{image['id']}/file/")
    download = requests.get(
        f"{NGINX}{API}/images/{image['id']}/file/", headers={"X-Auth-Token": demo_token}
    )
    assert hashlib.sha512(download.content).digest() == hashlib.sha512(data).digest()


def test_an_upload_into_a_chosen_store_through_nginx(
    instances, queued, admin_token, glance_admin, cleanup_images, carried
):
    image = _queued(admin_token)
    cleanup_images.append(image["id"])
    answer = requests.put(
        f"{NGINX}{API}/images/{image['id']}/file/?store=fs2",
        data=b"fs2" * 1000,
        headers={"X-Auth-Token": admin_token},
    )
    assert answer.status_code == carried, answer.text
    assert glance_admin.images.get(image["id"])["stores"] == "fs2"
    unknown = requests.put(
        f"{NGINX}{API}/images/{_queued(admin_token)['id']}/file/?store=no",
        data=b"x",
        headers={"X-Auth-Token": admin_token},
    )
    assert unknown.status_code == 400 and "store" in unknown.json()


def test_stage_then_import_through_nginx(instances, queued, demo_token, glance_demo):
    image, data = queued(), os.urandom(1024 * 1024)
    staged = requests.put(
        f"{NGINX}{API}/images/{image['id']}/stage/", data=data, headers={"X-Auth-Token": demo_token}
    )
    assert staged.status_code == 204, staged.text
    imported = requests.post(
        f"{NGINX}{API}/images/{image['id']}/import/",
        json={"method": "glance-direct"},
        headers={"X-Auth-Token": demo_token},
    )
    assert imported.status_code == 202, imported.text
    deadline = time.monotonic() + 30
    while glance_demo.images.get(image["id"])["status"] != "active":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert glance_demo.images.get(image["id"])["os_hash_value"] == hashlib.sha512(data).hexdigest()


def test_an_upload_url_through_nginx_works_once(instances, queued, glance_demo, carried):
    image, data = queued(), os.urandom(700_000)
    url = image["upload_url"].replace("http://testserver", NGINX)
    assert url.startswith(NGINX), url
    # the dashboard's direct upload sends its own X-Auth-Token, which is no token
    first = requests.put(
        url,
        data=data,
        headers={"X-Auth-Token": "undefined", "Content-Type": "application/octet-stream"},
    )
    assert first.status_code == carried, first.text
    assert glance_demo.images.get(image["id"])["os_hash_value"] == hashlib.sha512(data).hexdigest()
    again = requests.put(url, data=data)
    assert again.status_code == 404 and again.json()["code"] == "not_found"


def test_upload_refusals_through_nginx_are_json(instances, queued, demo_token, make_image):
    with_data = queued()
    requests.put(
        f"{NGINX}{API}/images/{with_data['id']}/file/",
        data=b"once",
        headers={"X-Auth-Token": demo_token},
    )
    cases = [
        (f"images/{with_data['id']}/file/", {"X-Auth-Token": demo_token}, 409, "conflict"),
        (
            "images/00000000-0000-0000-0000-000000000000/file/",
            {"X-Auth-Token": demo_token},
            404,
            "not_found",
        ),
        (f"images/{with_data['id']}/file/", {}, 401, "not_authenticated"),
        (
            f"images/{with_data['id']}/file/",
            {"X-Auth-Token": "not-a-token"},
            401,
            "authentication_failed",
        ),
    ]
    # another project's public, queued image: Glance's policy refuses demo's upload
    public = make_image(name="admin's, public", visibility="public")
    cases.append(
        (f"images/{public['id']}/file/", {"X-Auth-Token": demo_token}, 403, "permission_denied")
    )
    for path, headers, code, name in cases:
        answer = requests.put(f"{NGINX}{API}/{path}", data=b"x" * 1000, headers=headers)
        assert answer.status_code == code, (path, answer.status_code, answer.text)
        assert answer.headers["Content-Type"] == "application/json", answer.text
        assert answer.json()["code"] == name, answer.text
        assert "Retry-After" not in answer.headers  # an empty one is not sent


def test_a_session_upload_through_nginx_needs_the_csrf_token(
    instances, queued, glance_demo, carried
):
    from tests.helpers import signed_in

    image = queued()
    http = signed_in(NGINX)
    refused = http.put(f"{NGINX}{API}/images/{image['id']}/file/", data=b"no csrf")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert glance_demo.images.get(image["id"])["status"] == "queued"
    allowed = http.put(
        f"{NGINX}{API}/images/{image['id']}/file/",
        data=b"with csrf",
        headers={"X-CSRFToken": http.cookies["csrftoken"], "Referer": f"{NGINX}/"},
    )
    assert allowed.status_code == carried, allowed.text
    assert glance_demo.images.get(image["id"])["status"] == "active"


def test_no_token_of_an_upload_in_answers_or_nginx_logs(instances, queued, demo_token):
    image = queued()
    answer = requests.put(
        f"{NGINX}{API}/images/{image['id']}/file/",
        data=b"y" * 5000,
        headers={"X-Auth-Token": demo_token},
    )
    assert demo_token not in str(answer.headers)
    assert demo_token not in nginx_logs()


def test_an_upload_declared_as_json_through_nginx_is_a_415(
    instances, queued, demo_token, glance_demo
):
    """Issue 27: nginx's authorization refuses it as the app does."""
    image = queued()
    answer = requests.put(
        f"{NGINX}{API}/images/{image['id']}/file/",
        data=b'{"a": 1}',
        headers={"X-Auth-Token": demo_token, "Content-Type": "application/json"},
    )
    assert answer.status_code == 415, answer.text
    assert answer.json()["code"] == "unsupported_media_type"
    assert glance_demo.images.get(image["id"])["status"] == "queued"

"""Creates and imports that wait (issue 37): ``Prefer: wait=N`` on a create whose data Glance
fetches (web-download) and on an import (copy-image to one store, to all, with a store made
to fail), through Django's ASGI handler against the dev cloud; what a WSGI server does.
Through the stack's nginx and asynchronous instances: tests/test_watching_stack.py."""

import hashlib
import os
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.test import AsyncClient as DjangoAsyncClient

from devcloud import config as devcloud
from tests.helpers import IMAGES, direct_create
from tests.test_watching import run

DATA = os.urandom(3 * 1024 * 1024 + 17)
APP = Path(__file__).resolve().parent.parent / "glance_api"


class Client:
    """Django's AsyncClient with a token on each request."""

    def __init__(self, token: str):
        self.client, self.token = DjangoAsyncClient(), token

    async def post(self, path, body, wait: int | None = None, method: str = "post"):
        headers = {"X-Auth-Token": self.token}
        if wait is not None:
            headers["Prefer"] = f"wait={wait}"
        send = getattr(self.client, method)
        return await send(path, body, content_type="application/json", headers=headers)


def url_create(name: str, uri: str) -> dict:
    return {
        "name": name,
        "source_type": "url",
        "image_url": uri,
        "import_data": True,
        "disk_format": "raw",
        "container_format": "bare",
        "visibility": "private",
        "protected": False,
    }


def glance_ids(glance, name: str) -> list[str]:
    return [image["id"] for image in glance.images.list(filters={"name": name})]


@pytest.fixture
def longer_waits(quick_watch):
    quick_watch.GLANCE_API = {**quick_watch.GLANCE_API, "WATCH_MAX_WAIT": 40}
    return quick_watch


@pytest.mark.parametrize("method", ["post", "put"])
def test_a_web_download_create_that_waits_answers_201_with_the_active_image(
    method, longer_waits, admin_token, file_server, glance_admin, cleanup_images
):
    name = f"wait-create-{uuid.uuid4().hex[:8]}"
    uri = file_server.serve(f"/{name}.img", DATA)
    response = run(Client(admin_token).post(IMAGES, url_create(name, uri), wait=30, method=method))
    assert response.status_code == 201, response.content
    image = response.json()
    cleanup_images.append(image["id"])
    assert image["status"] == "active" and image["name"] == name
    assert image["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert response["Preference-Applied"] == "wait=30"
    assert response["Location"].endswith(f"{IMAGES}{image['id']}/")
    assert glance_admin.images.get(image["id"])["status"] == "active"


def test_a_create_whose_wait_runs_out_is_a_202_naming_its_progress(
    quick_watch, admin_token, silent_port, glance_admin, cleanup_images
):
    """Glance's download hangs (a server that never answers): the wait is over first."""
    name = f"wait-slow-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    response = run(
        Client(admin_token).post(
            IMAGES, url_create(name, f"http://127.0.0.1:{silent_port}/x.img"), wait=2
        )
    )
    took = time.monotonic() - started
    assert response.status_code == 202, response.content
    ids = glance_ids(glance_admin, name)
    cleanup_images.extend(ids)
    assert len(ids) == 1
    assert response["Location"].endswith(f"{IMAGES}{ids[0]}/progress/")
    assert response["Preference-Applied"] == "wait=2"
    document = response.json()
    assert document["id"] == ids[0] and document["status"] in ("queued", "importing")
    assert 2 <= took < 10


def test_a_create_whose_import_fails_is_a_400_with_glances_reason_and_nothing_left(
    longer_waits, admin_token, closed_port, glance_admin
):
    name = f"wait-fails-{uuid.uuid4().hex[:8]}"
    response = run(
        Client(admin_token).post(
            IMAGES, url_create(name, f"http://127.0.0.1:{closed_port}/x.img"), wait=40
        )
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "import_failed" and body["image_deleted"] is True
    assert "Glance's import failed" in body["detail"] and "nothing is left" in body["detail"]
    assert "Task failed" in body["detail"]  # Glance's task message
    assert glance_ids(glance_admin, name) == []  # nothing left behind


def test_a_create_with_nothing_to_fetch_does_not_wait(quick_watch, admin_token, cleanup_images):
    started = time.monotonic()
    response = run(
        Client(admin_token).post(
            IMAGES,
            direct_create("wait-direct"),
            wait=30,
        )
    )
    assert response.status_code == 201 and time.monotonic() - started < 5
    cleanup_images.append(response.json()["id"])
    assert "Preference-Applied" not in response


def test_the_browsable_api_s_create_does_not_wait(
    quick_watch, admin_token, file_server, cleanup_images
):
    name = f"wait-html-{uuid.uuid4().hex[:8]}"
    uri = file_server.serve(f"/{name}.img", DATA)

    async def create():
        return await DjangoAsyncClient().post(
            IMAGES,
            url_create(name, uri),
            content_type="application/json",
            headers={"X-Auth-Token": admin_token, "Prefer": "wait=30", "Accept": "text/html"},
        )

    response = run(create())
    assert response.status_code == 201 and "Preference-Applied" not in response
    assert response["Content-Type"].startswith("text/html")
    cleanup_images.extend(
        image_id
        for image_id in [response.get("Location", "").rstrip("/").rsplit("/", 1)[-1]]
        if image_id
    )


def test_under_wsgi_a_create_that_asks_to_wait_answers_at_once(
    admin_client, file_server, cleanup_images
):
    name = f"wait-wsgi-{uuid.uuid4().hex[:8]}"
    uri = file_server.serve(f"/{name}.img", DATA)
    response = admin_client.post(
        IMAGES, url_create(name, uri), format="json", headers={"Prefer": "wait=30"}
    )
    assert response.status_code == 201
    cleanup_images.append(response.json()["id"])
    assert "Preference-Applied" not in response  # RFC 7240: a preference may be ignored


def _threads_in_the_app() -> int:
    """Threads whose stack is in the app's code now (a wait held in a thread would be)."""
    count = 0
    for ident, frame in sys._current_frames().items():
        if ident == threading.get_ident():
            continue
        while frame is not None:
            if str(APP) in frame.f_code.co_filename:
                count += 1
                break
            frame = frame.f_back
    return count


def test_waiting_creates_hold_no_thread(quick_watch, admin_token, silent_port, cleanup_images):
    """Eight creates wait at once: no thread is in the app's code while they wait, but
    for the polls of Glance (each takes one for its moment, every WATCH_POLL_SECONDS):
    a wait held in a thread would show in every sample, eight at least."""
    prefix = f"wait-threads-{uuid.uuid4().hex[:6]}"
    samples = []

    async def waits():
        import asyncio

        client = Client(admin_token)
        uri = f"http://127.0.0.1:{silent_port}/x.img"
        tasks = [
            asyncio.ensure_future(client.post(IMAGES, url_create(f"{prefix}-{i}", uri), wait=4))
            for i in range(8)
        ]
        await asyncio.sleep(2.5)  # the creates are done; the waits go on
        for _ in range(20):
            samples.append(_threads_in_the_app())
            await asyncio.sleep(0.05)
        return await asyncio.gather(*tasks)

    responses = run(waits())
    cleanup_images.extend(r.json()["id"] for r in responses if r.status_code == 202)
    assert [r.status_code for r in responses] == [202] * 8
    assert min(samples) == 0 and sum(samples) / len(samples) < 4, samples


# --- imports that wait: copies to several stores ---------------------------------------


def _import(token: str, image_id: str, body: dict, wait: int):
    return run(Client(token).post(f"{IMAGES}{image_id}/import/", body, wait=wait))


def test_a_copy_that_waits_answers_with_the_image_in_both_stores(
    longer_waits, admin_token, admin_client, make_image
):
    image = make_image(name="wait-copy", data=DATA)
    response = _import(admin_token, image["id"], {"method": "copy-image", "stores": ["fs2"]}, 30)
    assert response.status_code == 200, response.content
    assert set(response.json()["stores"].split(",")) == {"fs", "fs2"}
    assert response["Preference-Applied"] == "wait=30"
    document = admin_client.get(f"{IMAGES}{image['id']}/progress/").json()
    assert (document["importing_to"], document["failed_stores"]) == ([], [])


@pytest.fixture
def failing_store():
    """The dev cloud's second file store made to fail for one image: a file already at
    the path Glance's file store writes the image to (it refuses to overwrite: Duplicate).
    Glance and its store are real; only that one path is taken."""
    made = []

    def fail_for(image_id: str) -> None:
        path = devcloud.STATE / "images" / "fs2" / image_id
        path.write_bytes(b"in the way")
        made.append(path)

    yield fail_for
    for path in made:
        path.unlink(missing_ok=True)


@pytest.mark.parametrize("must_succeed", [False, True])
def test_a_store_that_fails_is_reported_as_such_not_as_a_failed_image(
    must_succeed, longer_waits, admin_token, admin_client, make_image, failing_store, glance_admin
):
    image = make_image(name="wait-copy-fails", data=DATA)
    failing_store(image["id"])
    body = {"method": "copy-image", "all_stores": True, "all_stores_must_succeed": must_succeed}
    response = _import(admin_token, image["id"], body, 30)
    assert response.status_code == 200, response.content
    answered = response.json()
    assert answered["status"] == "active" and answered["stores"] == "fs"
    assert answered["os_glance_failed_import"] == "fs2"
    document = admin_client.get(f"{IMAGES}{image['id']}/progress/").json()
    assert document["status"] == "active"
    assert (document["stores"], document["importing_to"], document["failed_stores"]) == (
        ["fs"],
        [],
        ["fs2"],
    )
    assert glance_admin.images.get(image["id"])["status"] == "active"


def test_while_a_copy_goes_its_progress_names_the_stores_it_goes_to(
    admin_client, make_image, glance_admin
):
    """While Glance's copy task goes, progress/ names the store it copies to in
    importing_to (Glance's os_glance_importing_to_stores); afterwards, in stores."""
    image = make_image(name="wait-copy-going", data=os.urandom(48 * 1024 * 1024))
    response = admin_client.post(
        f"{IMAGES}{image['id']}/import/", {"method": "copy-image", "stores": ["fs2"]}, format="json"
    )
    assert response.status_code == 202, response.content
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        document = admin_client.get(f"{IMAGES}{image['id']}/progress/").json()
        seen.append((tuple(document["stores"]), tuple(document["importing_to"])))
        if "fs2" in document["stores"]:
            break
    assert (("fs",), ("fs2",)) in seen, seen  # under way: to fs2, still only in fs
    assert seen[-1] in ((("fs", "fs2"), ()), (("fs2", "fs"), ())), seen[-1]


def test_a_wait_is_at_most_watch_max_wait(quick_watch, admin_token, silent_port, cleanup_images):
    quick_watch.GLANCE_API = {**quick_watch.GLANCE_API, "WATCH_MAX_WAIT": 2}
    name = f"wait-capped-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    response = run(
        Client(admin_token).post(
            IMAGES, url_create(name, f"http://127.0.0.1:{silent_port}/x.img"), wait=600
        )
    )
    assert response.status_code == 202 and response["Preference-Applied"] == "wait=2"
    assert time.monotonic() - started < 10
    cleanup_images.append(response.json()["id"])

"""Watching images (issue 35), in-process against the dev cloud: the progress document,
the strong ETags a long-poll compares, the long-polls themselves through Django's ASGI
handler (``AsyncClient``), and what a WSGI server does with them (answers at once).

The stack's asynchronous instances, shared polling through Redis, the event stream
through nginx and in a browser: tests/test_watching_stack.py."""

import asyncio
import concurrent.futures
import gc
import io
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.test import AsyncClient as DjangoAsyncClient
from django.test import RequestFactory

from glance_api import services
from glance_api.services.progress import bytes_done, progress_document, stall_reason
from glance_api.watch import events, waits
from tests.helpers import IMAGES, put_bytes, wait_until

QUEUED = {"id": "i", "status": "queued", "updated_at": "2026-12-06T10:00:00Z"}


def progress(client, image_id: str, **headers):
    return client.get(f"{IMAGES}{image_id}/progress/", headers=headers)


# --- the progress document ------------------------------------------------------------


def test_a_new_image_s_progress_is_what_glance_holds(admin_client, glance_admin, make_image):
    image = make_image(name="progress-new")
    response = progress(admin_client, image["id"])
    assert response.status_code == 200, response.content
    document = response.json()
    assert document == {
        "id": image["id"],
        "status": "queued",
        "size": None,
        "stores": [],
        "importing_to": [],
        "failed_stores": [],
        "task": None,
        "bytes_done": None,
        "stalled": False,
        "stall_reason": None,
        "updated_at": glance_admin.images.get(image["id"])["updated_at"],
    }
    tag = response["ETag"]
    assert tag.startswith('"') and not tag.startswith("W/")  # strong
    assert progress(admin_client, image["id"], **{"If-None-Match": tag}).status_code == 304
    assert (
        response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]
    )


def test_an_active_image_s_progress_names_its_stores_and_size(admin_client, make_image):
    image = make_image(name="progress-active", data=b"x" * 4096)
    document = progress(admin_client, image["id"]).json()
    assert (document["status"], document["size"], document["stores"]) == ("active", 4096, ["fs"])
    assert document["stalled"] is False


def test_a_queued_image_nobody_uploads_to_is_stalled(admin_client, app_settings, make_image):
    image = make_image(name="progress-forgotten")
    app_settings.GLANCE_API = {**app_settings.GLANCE_API, "STALL_SECONDS": 1}
    time.sleep(1.2)  # Glance's times are whole seconds
    first = progress(admin_client, image["id"])
    document = first.json()
    assert document["stalled"] is True
    assert "nobody uploads its data" in document["stall_reason"]
    assert "over 1 s" in document["stall_reason"]
    # it says the same while nothing changes: its ETag too (a long-poll is not woken)
    time.sleep(1.1)
    assert progress(admin_client, image["id"])["ETag"] == first["ETag"]
    # an upload starts something: no longer stalled
    assert put_bytes(admin_client, f"{IMAGES}{image['id']}/file/", b"d" * 512).status_code < 300
    assert progress(admin_client, image["id"]).json()["stalled"] is False


def test_a_failed_web_download_is_a_stall_with_glances_reason(
    admin_client, glance_admin, make_image, closed_port
):
    image = make_image(name="progress-failed-download")
    response = admin_client.post(
        f"{IMAGES}{image['id']}/import/",
        {"method": "web-download", "uri": f"http://127.0.0.1:{closed_port}/disk.img"},
        format="json",
    )
    assert response.status_code == 202, response.content
    deadline = time.monotonic() + 60
    while True:
        document = progress(admin_client, image["id"]).json()
        if document["task"] and document["task"]["status"] == "failure":
            break
        assert time.monotonic() < deadline, document
        time.sleep(0.5)
    held = glance_admin.http_client.get(f"/v2/images/{image['id']}/tasks")[1]["tasks"][0]
    task = document["task"]
    assert set(task) == {"id", "type", "status", "message", "updated_at"}
    assert (task["id"], task["type"], task["message"]) == (
        held["id"],
        "api_image_import",
        held["message"],
    )
    assert task["updated_at"].endswith("Z")
    assert document["status"] == "queued" and document["stalled"] is True
    assert document["stall_reason"] == f"Its api_image_import task failed: {held['message']}"
    assert document["bytes_done"] is None  # Glance reported nothing copied


def test_a_copy_reports_what_glance_copied(admin_client, glance_admin, make_image):
    image = make_image(name="progress-copy", data=b"c" * (3 * 1024 * 1024 + 5))
    response = admin_client.post(
        f"{IMAGES}{image['id']}/import/", {"method": "copy-image", "stores": ["fs2"]}, format="json"
    )
    assert response.status_code == 202, response.content
    wait_until(glance_admin, image["id"], lambda i: "fs2" in i["stores"].split(","))
    document = progress(admin_client, image["id"]).json()
    held = glance_admin.http_client.get(f"/v2/images/{image['id']}/tasks")[1]["tasks"][0]
    assert document["task"]["id"] == held["id"]
    assert set(document["stores"]) == {"fs", "fs2"} and document["importing_to"] == []
    # what Glance's task says it copied ("Copied 3 MiB"), or null when it says nothing
    if held["message"].startswith("Copied "):
        assert document["bytes_done"] == int(held["message"].split()[1]) * 1024 * 1024
        assert document["bytes_done"] == 3 * 1024 * 1024
    else:
        assert document["bytes_done"] is None


def test_progress_of_an_unknown_image_is_404(admin_client):
    assert progress(admin_client, "00000000-0000-0000-0000-000000000000").status_code == 404
    assert progress(admin_client, "not-an-id").status_code == 404


def test_on_a_glance_without_tasks_the_task_is_null(glance_listing, admin_client, make_image):
    glance_listing(lambda version: version <= (2, 9))
    image = make_image(name="progress-older", data=b"o" * 100)
    response = progress(admin_client, image["id"])
    assert response.status_code == 200, response.content
    assert response.json()["task"] is None and response.json()["status"] == "active"


def test_the_stall_reasons():
    now = datetime(2026, 12, 6, 10, 10, tzinfo=UTC)
    assert stall_reason(QUEUED, None, None, now).startswith("Queued with nothing happening")
    assert stall_reason(QUEUED, None, None, now - timedelta(minutes=9)) is None
    running = {"status": "processing", "updated_at": "2026-12-06T10:00:00"}
    assert stall_reason(QUEUED, running, None, now) is None  # a task goes on
    failed = {"status": "failure", "type": "api_image_import", "message": "404 at the URL"}
    assert stall_reason(QUEUED, failed, None, now) == (
        "Its api_image_import task failed: 404 at the URL"
    )
    staged = {**QUEUED, "status": "uploading", "updated_at": "2026-12-06T10:09:59Z"}
    assert "does not enable the glance-direct" in stall_reason(staged, None, ["web-download"], now)
    assert stall_reason(staged, None, ["glance-direct"], now) is None
    assert stall_reason({**QUEUED, "status": "active"}, None, None, now) is None


def test_bytes_done_is_only_what_glance_says():
    assert bytes_done({"message": "Copied 12 MiB"}) == 12 * 1024 * 1024
    assert bytes_done({"message": "Copied about half"}) is None
    assert bytes_done({"message": None}) is None
    assert bytes_done(None) is None
    document = progress_document({**QUEUED, "stores": "fs,fs2"}, [], None, datetime.now(UTC))
    assert document["stores"] == ["fs", "fs2"] and document["task"] is None


# --- strong ETags on the list ----------------------------------------------------------


def test_the_list_has_a_strong_etag_that_changes_with_it(admin_client, make_image):
    image = make_image(name="etag-list-1")
    query = "?name=etag-list-1"
    first = admin_client.get(IMAGES + query)
    assert first.status_code == 200 and first["ETag"].startswith('"')
    again = admin_client.get(IMAGES + query, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304 and again["ETag"] == first["ETag"]
    make_image(name="etag-list-1")
    changed = admin_client.get(IMAGES + query, headers={"If-None-Match": first["ETag"]})
    assert changed.status_code == 200 and len(changed.json()["items"]) == 2
    assert image["id"] in {item["id"] for item in changed.json()["items"]}


# --- a WSGI server does not wait --------------------------------------------------------


def test_under_wsgi_a_wait_is_answered_at_once_without_preference_applied(admin_client, make_image):
    image = make_image(name="wsgi-wait")
    tag = admin_client.get(f"{IMAGES}{image['id']}/")["ETag"]
    started = time.monotonic()
    response = admin_client.get(
        f"{IMAGES}{image['id']}/", headers={"If-None-Match": tag, "Prefer": "wait=30"}
    )
    assert response.status_code == 304 and time.monotonic() - started < 5
    assert "Preference-Applied" not in response


def test_under_wsgi_the_event_stream_says_where_it_is_served(admin_client):
    response = admin_client.get(f"{IMAGES}events/", headers={"Accept": "text/event-stream"})
    assert response.status_code == 501
    assert response.json()["code"] == "needs_async_server"


# --- long-polls through Django's ASGI handler -------------------------------------------


def run(coroutine):
    """The coroutine in an event loop of its own thread (a session's browser fixture
    keeps one running in this one)."""
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


class AsyncClient:
    """Django's AsyncClient (requests through its ASGI handler), with a token on each
    request (its constructor's ``headers`` become no header the app sees)."""

    def __init__(self, token: str | None = None):
        self.client, self.token = DjangoAsyncClient(), token

    async def get(self, path, data=None, headers=None):
        headers = dict(headers or {})
        if self.token:
            headers["X-Auth-Token"] = self.token
        return await self.client.get(path, data, headers=headers)


async def timed_get(client, path, **headers):
    started = time.monotonic()
    response = await client.get(path, headers=headers)
    return response, time.monotonic() - started


def test_a_wait_on_an_image_ends_as_soon_as_it_changes(
    quick_watch, admin_token, glance_admin, make_image
):
    image = make_image(name="wait-on-me")
    client = AsyncClient(admin_token)

    async def scenario():
        first = await client.get(f"{IMAGES}{image['id']}/")
        tag = first["ETag"]
        waiting = asyncio.ensure_future(
            timed_get(
                client, f"{IMAGES}{image['id']}/", **{"If-None-Match": tag, "Prefer": "wait=30"}
            )
        )
        await asyncio.sleep(1.5)
        assert not waiting.done()
        await asyncio.to_thread(glance_admin.images.update, image["id"], name="waited-on")
        response, seconds = await waiting
        return tag, response, seconds

    tag, response, seconds = run(scenario())
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "waited-on"
    assert response["ETag"] != tag and response["Preference-Applied"] == "wait=8"  # the cap
    assert response["Link"].endswith('rel="tasks"')  # the view's own answer
    assert 1.5 < seconds < 5


def test_a_wait_with_nothing_changing_is_a_304_when_it_is_over(
    quick_watch, admin_token, make_image
):
    image = make_image(name="nothing-happens")
    client = AsyncClient(admin_token)

    async def scenario():
        tag = (await client.get(f"{IMAGES}{image['id']}/progress/"))["ETag"]
        response, seconds = await timed_get(
            client,
            f"{IMAGES}{image['id']}/progress/",
            **{"If-None-Match": tag, "Prefer": "wait=2"},
        )
        return tag, response, seconds

    tag, response, seconds = run(scenario())
    assert response.status_code == 304
    assert (response["ETag"], response["Preference-Applied"]) == (tag, "wait=2")
    assert 2 <= seconds < 4


def test_a_stale_etag_answers_at_once(quick_watch, admin_token, make_image):
    image = make_image(name="stale-etag")
    client = AsyncClient(admin_token)
    response, seconds = run(
        timed_get(
            client, f"{IMAGES}{image['id']}/", **{"If-None-Match": '"old"', "Prefer": "wait=8"}
        )
    )
    assert response.status_code == 200 and seconds < 2
    assert response.json()["id"] == image["id"] and response["Preference-Applied"] == "wait=8"


def test_a_wait_on_a_filtered_list_ends_when_a_match_appears(
    quick_watch, admin_token, glance_admin, make_image
):
    name = f"list-wait-{time.time_ns()}"
    client = AsyncClient(admin_token)

    async def scenario():
        first = await client.get(IMAGES, {"name": name, "sort_key": "name"})
        assert first.json()["items"] == []
        waiting = asyncio.ensure_future(
            client.get(
                IMAGES,
                {"name": name, "sort_key": "name"},
                headers={"If-None-Match": first["ETag"], "Prefer": "wait=8"},
            )
        )
        await asyncio.sleep(1)
        await asyncio.to_thread(make_image, name=name)
        return await waiting

    response = run(scenario())
    assert response.status_code == 200
    assert [item["name"] for item in response.json()["items"]] == [name]


def test_a_wait_on_a_deleted_image_ends_with_404(
    quick_watch, admin_token, glance_admin, make_image
):
    image = make_image(name="to-be-deleted")
    client = AsyncClient(admin_token)

    async def scenario():
        tag = (await client.get(f"{IMAGES}{image['id']}/"))["ETag"]
        waiting = asyncio.ensure_future(
            client.get(
                f"{IMAGES}{image['id']}/", headers={"If-None-Match": tag, "Prefer": "wait=8"}
            )
        )
        await asyncio.sleep(1)
        await asyncio.to_thread(glance_admin.images.delete, image["id"])
        return await waiting

    response = run(scenario())
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_many_waiters_are_one_poll_of_glance(quick_watch, admin_token, make_image, glance_log):
    image = make_image(name="many-waiters")
    client = AsyncClient(admin_token)
    path = f"/v2/images/{image['id']}"

    async def scenario():
        tag = (await client.get(f"{IMAGES}{image['id']}/"))["ETag"]
        glance_log.mark()
        headers = {"If-None-Match": tag, "Prefer": "wait=3"}
        return await asyncio.gather(
            *(client.get(f"{IMAGES}{image['id']}/", headers=headers) for _ in range(30))
        )

    answers = run(scenario())
    assert {answer.status_code for answer in answers} == {304}
    # 3 s at a round each 0.5 s: the first waiter's read, then about 7 rounds, each one
    # call (the project's list of watched images), not 30 waiters' worth
    reads = glance_log.count(f"GET {path} ", 0, timeout=0)
    rounds = glance_log.count("GET /v2/images?id=in", 0, timeout=0)
    assert reads <= 2 and 3 <= rounds <= 10, (reads, rounds)


def test_a_revoked_token_ends_its_wait_with_401(
    quick_watch, app_settings, fresh_demo_token, make_image, admin_session
):
    app_settings.GLANCE_API = {**app_settings.GLANCE_API, "TOKEN_CACHE_SECONDS": 1}
    image = make_image(name="revoked-waiter", as_demo=True)
    client = AsyncClient(fresh_demo_token)

    async def scenario():
        tag = (await client.get(f"{IMAGES}{image['id']}/"))["ETag"]
        waiting = asyncio.ensure_future(
            timed_get(
                client, f"{IMAGES}{image['id']}/", **{"If-None-Match": tag, "Prefer": "wait=8"}
            )
        )
        await asyncio.sleep(1)
        await asyncio.to_thread(
            admin_session.delete,
            "/auth/tokens",
            endpoint_filter={"service_type": "identity", "interface": "public"},
            headers={"X-Subject-Token": fresh_demo_token},
        )
        return await waiting

    response, seconds = run(scenario())
    assert response.status_code == 401, response.content
    assert response.json()["code"] == "authentication_failed" and seconds < 6
    assert fresh_demo_token not in response.content.decode()


def test_a_token_that_expires_during_a_wait_ends_it_with_401(
    quick_watch, admin_token, make_image, monkeypatch
):
    """The one patch of this file, and why: the dev cloud's Keystone issues tokens for an
    hour ([token] expiration is one setting for every token, and every test's), so a token
    that expires a second into a wait is had by moving the expiry keystoneauth reads from
    the token's body. Keystone, Glance and the wait are real; a revoked token (which the
    dev cloud can make) is tested without any patch above."""
    image = make_image(name="expiring-waiter")
    client = AsyncClient(admin_token)
    # the token's expiry (keystoneauth's AccessInfo.expires, whatever Keystone said) is a
    # second into the wait

    async def scenario():
        tag = (await client.get(f"{IMAGES}{image['id']}/"))["ETag"]
        soon = datetime.now(UTC) + timedelta(seconds=1)
        monkeypatch.setattr(
            "keystoneauth1.access.access.AccessInfoV3.expires", property(lambda self: soon)
        )
        return await timed_get(
            client, f"{IMAGES}{image['id']}/", **{"If-None-Match": tag, "Prefer": "wait=8"}
        )

    response, seconds = run(scenario())
    assert response.status_code == 401 and 1 <= seconds < 3


def test_without_a_token_a_wait_is_the_usual_401(quick_watch):
    response = run(AsyncClient().get(IMAGES, headers={"If-None-Match": '"x"', "Prefer": "wait=5"}))
    assert response.status_code == 401 and "Preference-Applied" not in response


def test_a_malformed_wait_is_no_wait(quick_watch, admin_token, make_image):
    image = make_image(name="malformed-wait")
    client = AsyncClient(admin_token)

    async def scenario():
        tag = (await client.get(f"{IMAGES}{image['id']}/"))["ETag"]
        return await timed_get(
            client, f"{IMAGES}{image['id']}/", **{"If-None-Match": tag, "Prefer": "wait=soon"}
        )

    response, seconds = run(scenario())
    assert response.status_code == 304 and seconds < 2 and "Preference-Applied" not in response


def test_the_wait_preference_is_read_as_rfc_7240_writes_it():
    def wanted(prefer):
        request = RequestFactory().get(
            "/", headers={"If-None-Match": '"a"', "Prefer": prefer, "Accept": "application/json"}
        )
        return waits.wanted_wait(request)

    assert wanted("wait=10") == 10
    assert wanted("return=minimal, wait=5") == 5
    assert wanted("wait = 7") == 7
    assert wanted("handling=lenient; wait=3") is None or wanted("handling=lenient; wait=3") == 3
    assert wanted("nowait=5") is None and wanted("wait=-1") is None and wanted("") is None


def test_under_the_asgi_server_every_middleware_runs_in_the_event_loop():
    """Else Django runs the rest of the chain in a thread, and each wait holds one."""
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json, django, project.asgi\n"
        "from django.conf import settings\n"
        "from django.utils.module_loading import import_string\n"
        # what Django's handler asks of each (BaseHandler.load_middleware)
        "print(json.dumps({m: getattr(import_string(m), 'async_capable', False)"
        " for m in settings.MIDDLEWARE}))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    capable = json.loads(out.stdout.strip().splitlines()[-1])
    assert "glance_api.watch.middleware.WatchMiddleware" in capable
    assert all(capable.values()), capable


# --- the event stream, in-process (the stack's: tests/test_watching_stack.py) ----------


def test_events_between_two_rounds():
    before = {"a": {"id": "a", "status": "queued"}, "b": {"id": "b", "status": "active"}}
    after = {"a": {"id": "a", "status": "active"}, "c": {"id": "c", "status": "queued"}}
    assert events.changes(before, after) == [
        {"id": "a", "status": "active"},
        {"id": "c", "status": "queued"},
        {"id": "b", "deleted": True},
    ]
    assert events.changes(after, after) == []


def test_an_event_cursor_is_checked():
    assert events.cursor_of("1796588190989-2") == (1796588190989, 2)
    for bad in ("", "12", "a-b", "1-2-3", "1-2\nid: 3"):
        with pytest.raises(events.BadCursor):
            events.cursor_of(bad)


def test_the_project_progress_lists_each_visible_image(
    admin_token, make_image, glance_admin, demo_token
):
    from glance_api import keystone

    mine = make_image(name="feed-mine", as_demo=True)
    private = make_image(name="feed-admins-private", visibility="private")
    demo = services.client_for(keystone.validate_token(demo_token))
    documents = services.project_progress(demo, {})
    assert mine["id"] in documents and private["id"] not in documents
    assert documents[mine["id"]]["status"] == "queued"


def test_the_stream_ends_when_its_token_is_revoked(
    quick_watch, app_settings, fresh_demo_token, admin_session
):
    app_settings.GLANCE_API = {**app_settings.GLANCE_API, "TOKEN_CACHE_SECONDS": 1}

    async def scenario():
        response = await DjangoAsyncClient().get(
            f"{IMAGES}events/",
            headers={"X-Auth-Token": fresh_demo_token, "Accept": "text/event-stream"},
        )
        assert response.status_code == 200 and response["X-Accel-Buffering"] == "no"
        chunks = response.streaming_content.__aiter__()
        first = await chunks.__anext__()
        await asyncio.to_thread(
            admin_session.delete,
            "/auth/tokens",
            endpoint_filter={"service_type": "identity", "interface": "public"},
            headers={"X-Subject-Token": fresh_demo_token},
        )
        revoked_at = time.monotonic()
        rest = []
        async for chunk in chunks:  # it ends by itself
            rest.append(chunk)
        return first, rest, time.monotonic() - revoked_at

    first, rest, seconds = run(asyncio.wait_for(scenario(), 30))
    assert first.startswith(b"retry: ")
    assert seconds < 6


def test_waits_on_many_images_of_a_project_are_one_list_call_a_round(
    quick_watch, admin_token, glance_admin, make_image, glance_log
):
    images = [make_image(name=f"one-of-many-{i}") for i in range(20)]
    client = AsyncClient(admin_token)

    async def scenario():
        tags = [(await client.get(f"{IMAGES}{i['id']}/"))["ETag"] for i in images]
        glance_log.mark()
        waits = [
            client.get(f"{IMAGES}{i['id']}/", headers={"If-None-Match": t, "Prefer": "wait=4"})
            for i, t in zip(images, tags, strict=True)
        ]

        async def change_one():
            await asyncio.sleep(2)
            await asyncio.to_thread(glance_admin.images.update, images[7]["id"], x_changed="1")

        *answers, _ = await asyncio.gather(*waits, change_one())
        return answers

    answers = run(scenario())
    assert [a.status_code for a in answers] == [304] * 7 + [200] + [304] * 12
    assert answers[7].json()["x_changed"] == "1"
    single = sum(glance_log.count(f"GET /v2/images/{i['id']} ", 0, timeout=0) for i in images)
    listed = glance_log.count("GET /v2/images?id=in", 0, timeout=0)
    # each waiter's first answer, the changed image's again (and the update's own read),
    # and a few more where the project's first list came late (a loaded machine): not a
    # read of each image each round (8 rounds of 20 images: 160)
    assert single <= 30, single
    assert 3 <= listed <= 12, listed


@pytest.fixture
def glance_without_glance_direct(app_settings):
    """A second Glance of the dev cloud (its database, stores and staging area), whose
    configuration enables web-download and copy-image but not glance-direct; the app is
    pointed at it (GLANCE_URL)."""
    from devcloud.variant import glance_variant

    methods = "enabled_import_methods = [glance-direct, web-download, copy-image]"
    without = "enabled_import_methods = [web-download, copy-image]"
    with glance_variant("nodirect", replaced={methods: without}, own_state=False) as url:
        app_settings.GLANCE_API = {**app_settings.GLANCE_API, "GLANCE_URL": url}
        yield url


def test_staged_data_that_this_glance_cannot_import_is_a_stall(
    admin_client, make_image, glance_admin, app_settings, glance_without_glance_direct
):
    image = make_image(name="staged-nowhere-to-go")
    # staged through the dev cloud's own Glance, which takes glance-direct's stage
    glance_admin.images.stage(image["id"], io.BytesIO(b"s" * 1024), image_size=1024)
    wait_until(glance_admin, image["id"], lambda i: i["status"] == "uploading")
    methods = admin_client.get("/api/glance/info/import/").json()
    assert "glance-direct" not in methods["import-methods"]["value"]  # this Glance's
    document = progress(admin_client, image["id"]).json()
    assert document["status"] == "uploading" and document["stalled"] is True
    assert "does not enable the glance-direct import method" in document["stall_reason"]
    assert "web-download, copy-image" in document["stall_reason"]


def test_the_browsable_api_does_not_wait(quick_watch, admin_token, make_image):
    """Its HTML names the signed-in user: a poll's answer, shared by the project, is JSON."""
    image = make_image(name="html-no-wait")
    client = AsyncClient(admin_token)

    async def scenario():
        tag = (await client.get(f"{IMAGES}{image['id']}/"))["ETag"]
        html = await timed_get(
            client,
            f"{IMAGES}{image['id']}/",
            **{"If-None-Match": tag, "Prefer": "wait=5", "Accept": "text/html"},
        )
        api = await timed_get(
            client,
            f"{IMAGES}{image['id']}/?format=api",
            **{"If-None-Match": tag, "Prefer": "wait=5"},
        )
        return html, api

    for response, seconds in run(scenario()):
        assert seconds < 2 and "Preference-Applied" not in response


def test_a_poll_that_fails_after_its_waiters_left_leaves_no_traceback():
    """The last waiter leaves while a poll of Glance goes (its round is cancelled; the
    poll, shielded, goes on), then the poll fails (Glance unreachable): its exception
    must be read, or asyncio logs it with a traceback when the task is collected ("Task
    exception was never retrieved": in a stack test's asynchronous instance's log, with
    Glance stopped). The fetch is the test's: what matters is the hub's task."""
    from glance_api.exceptions import ServiceUnavailable
    from glance_api.watch.hub import Hub

    async def main() -> list:
        reported = []
        asyncio.get_running_loop().set_exception_handler(
            lambda _, context: reported.append(context)
        )
        begun = asyncio.Event()

        async def fetch(source, value):
            begun.set()
            await asyncio.sleep(0.2)
            raise ServiceUnavailable("Glance is unreachable.")

        poll = Hub(None).poll("a-key", fetch)
        poll.sources["a-token"] = 1
        caller = asyncio.ensure_future(poll._poll())
        await begun.wait()
        caller.cancel()  # the waiter's round, as Poll.leave cancels it
        await asyncio.sleep(0.4)  # the poll has failed by now
        gc.collect()
        await asyncio.sleep(0)
        return reported

    assert run(main()) == []

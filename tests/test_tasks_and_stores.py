"""An image's tasks, its data in several stores, and the stores' details (issue 24),
against the dev cloud's two file stores (fs, fs2); effects checked in Glance itself."""

import time

import pytest
from django.test.utils import override_script_prefix

from tests.helpers import IMAGES, put_bytes, wait_until


def tasks_until(client, image_id: str, done, timeout: float = 60) -> list[dict]:
    """The image's tasks through the API, once ``done(tasks)``."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"{IMAGES}{image_id}/tasks/")
        assert response.status_code == 200, response.content
        tasks = response.json()["items"]
        if done(tasks):
            return tasks
        assert time.monotonic() < deadline, f"gave up waiting: {tasks}"
        time.sleep(0.5)


def test_a_failed_web_download_is_told_by_the_images_tasks(
    admin_client, glance_admin, make_image, closed_port
):
    image = make_image(name="will-not-download")
    response = admin_client.post(
        f"{IMAGES}{image['id']}/import/",
        {"method": "web-download", "uri": f"http://127.0.0.1:{closed_port}/disk.img"},
        format="json",
    )
    assert response.status_code == 202, response.content
    tasks = tasks_until(
        admin_client, image["id"], lambda tasks: tasks and tasks[0]["status"] == "failure"
    )
    (task,) = tasks
    assert task["type"] == "api_image_import"
    assert task["message"], task  # Glance's reason, as Glance keeps it
    assert "input" not in task  # it holds the URL, which may carry credentials
    assert set(task) == {
        "id",
        "type",
        "status",
        "message",
        "result",
        "created_at",
        "updated_at",
        "expires_at",
    }
    assert task["created_at"].endswith("Z")  # Glance's UTC, said (RFC 3339)
    # the same as Glance holds it
    held = glance_admin.http_client.get(f"/v2/images/{image['id']}/tasks")[1]["tasks"]
    assert [t["id"] for t in held] == [task["id"]]
    assert held[0]["message"] == task["message"]
    assert glance_admin.images.get(image["id"])["status"] == "queued"


def test_the_image_detail_links_to_its_tasks(admin_client, make_image):
    image = make_image()
    response = admin_client.get(f"{IMAGES}{image['id']}/")
    assert response.status_code == 200
    assert response["Link"] == (f'<http://testserver{IMAGES}{image["id"]}/tasks/>; rel="tasks"')
    page = admin_client.get(f"{IMAGES}{image['id']}/", HTTP_ACCEPT="text/html")
    assert f"{IMAGES}{image['id']}/tasks/" in page.content.decode()


def test_the_tasks_link_follows_the_script_prefix_and_the_format_asked(admin_client, make_image):
    """The link's path is reversed once per process (views.base.reverse_action): it is
    still the one of this request's mount point, and keeps ``?format=`` as DRF's does."""
    image = make_image()
    for prefix, query in [("", ""), ("/dashboard", "?format=json"), ("", "?format=json"), ("", "")]:
        with override_script_prefix(f"{prefix}/"):
            response = admin_client.get(f"{IMAGES}{image['id']}/{query}")
        assert response.status_code == 200, response.content
        assert response["Link"] == (
            f'<http://testserver{prefix}{IMAGES}{image["id"]}/tasks/{query}>; rel="tasks"'
        )


def test_a_copy_to_another_store_is_a_task_newest_first(
    admin_client, glance_admin, make_image, closed_port
):
    image = make_image(data=b"copy me" * 1000)
    first = admin_client.post(
        f"{IMAGES}{image['id']}/import/", {"method": "copy-image", "stores": ["fs2"]}, format="json"
    )
    assert first.status_code == 202, first.content
    tasks = tasks_until(
        admin_client, image["id"], lambda tasks: tasks and tasks[0]["status"] == "success"
    )
    assert [t["type"] for t in tasks] == ["api_image_import"]
    wait_until(glance_admin, image["id"], lambda i: set(i["stores"].split(",")) == {"fs", "fs2"})


def test_tasks_of_an_unknown_image_are_404(admin_client):
    response = admin_client.get(f"{IMAGES}00000000-0000-0000-0000-000000000000/tasks/")
    assert response.status_code == 404
    assert admin_client.get(f"{IMAGES}not-an-id/tasks/").status_code == 404


def test_upload_into_a_chosen_store(admin_client, glance_admin, make_image):
    image = make_image(name="into fs2")
    response = put_bytes(admin_client, f"{IMAGES}{image['id']}/file/?store=fs2", b"x" * 4096)
    assert response.status_code == 200, response.content
    held = glance_admin.images.get(image["id"])
    assert held["stores"] == "fs2"
    assert held["status"] == "active"


def test_upload_into_an_unknown_store_is_a_400_that_names_the_stores(
    admin_client, glance_admin, make_image
):
    image = make_image(name="nowhere")
    response = put_bytes(admin_client, f"{IMAGES}{image['id']}/file/?store=nowhere", b"x" * 4096)
    assert response.status_code == 400
    message = response.json()["store"][0]
    assert "'nowhere'" in message and "fs, fs2" in message
    assert glance_admin.images.get(image["id"])["status"] == "queued"  # nothing was sent


@pytest.fixture
def in_two_stores(admin_client, glance_admin, make_image):
    image = make_image(data=b"two copies" * 1000, name="in two stores")
    admin_client.post(
        f"{IMAGES}{image['id']}/import/", {"method": "copy-image", "stores": ["fs2"]}, format="json"
    )
    wait_until(glance_admin, image["id"], lambda i: set(i["stores"].split(",")) == {"fs", "fs2"})
    return image


def test_data_deleted_from_one_store_stays_in_the_other(admin_client, glance_admin, in_two_stores):
    image_id = in_two_stores["id"]
    response = admin_client.delete(f"{IMAGES}{image_id}/stores/fs2/")
    assert response.status_code == 204, response.content
    held = glance_admin.images.get(image_id)
    assert held["stores"] == "fs"
    assert held["status"] == "active"
    # the last copy: refused, as Glance refuses it, and still there
    last = admin_client.delete(f"{IMAGES}{image_id}/stores/fs/")
    assert last.status_code == 409
    assert "only" in last.json()["detail"]
    assert glance_admin.images.get(image_id)["stores"] == "fs"
    assert glance_admin.images.data(image_id) is not None


def test_deleting_from_a_store_the_image_is_not_in(admin_client, make_image):
    image = make_image(data=b"one copy", name="in fs")
    response = admin_client.delete(f"{IMAGES}{image['id']}/stores/fs2/")
    assert response.status_code in (404, 409), response.content
    assert "fs2" in response.json()["detail"]


def test_demo_may_not_delete_from_a_store(demo_client, glance_demo, make_image):
    image = make_image(as_demo=True, data=b"demo's" * 100, name="demo's")
    response = demo_client.delete(f"{IMAGES}{image['id']}/stores/fs/")
    assert response.status_code == 403, response.content
    assert glance_demo.images.get(image["id"])["stores"] == "fs"


def test_store_details_for_the_admin_only(admin_client, demo_client):
    response = admin_client.get("/api/glance/info/stores/detail/")
    assert response.status_code == 200, response.content
    stores = {store["id"]: store for store in response.json()["stores"]}
    assert {"fs", "fs2"} <= set(stores)
    assert stores["fs"]["type"] == "file"
    assert demo_client.get("/api/glance/info/stores/detail/").status_code == 403

"""Images endpoints against the real dev cloud, as the admin and the demo user."""

import hashlib
import io
import time
import uuid

import pytest
from glanceclient import exc as glance_exc

from tests.helpers import IMAGES, url


def create_body(**fields) -> dict:
    return {
        "name": f"api-{uuid.uuid4().hex[:8]}",
        "source_type": "file-direct",
        "disk_format": "raw",
        "visibility": "private",
        "protected": False,
        **fields,
    }


@pytest.fixture
def cleanup(cleanup_images):
    return cleanup_images


# --- shapes ---------------------------------------------------------------------


def test_image_list_shape_and_properties(admin_client, make_image):
    image = make_image(os_distro="debian", kernel_id="k1")
    body = admin_client.get(IMAGES, {"name": image["name"]}).json()
    assert set(body) == {"items", "has_more_data", "has_prev_data"}
    (item,) = [i for i in body["items"] if i["id"] == image["id"]]
    assert item["is_public"] is False
    assert item["properties"]["os_distro"] == "debian"
    for left_out in ("name", "owner", "kernel_id", "tags", "file", "schema", "locations"):
        assert left_out not in item["properties"]


def test_image_retrieve_shows_extended_attributes(admin_client, make_image):
    image = make_image(os_distro="debian", kernel_id="k1", visibility="public")
    body = admin_client.get(url(image["id"])).json()
    assert body["id"] == image["id"] and body["is_public"] is True
    assert body["properties"]["kernel_id"] == "k1"
    assert "tags" in body["properties"] and "file" in body["properties"]
    assert "name" not in body["properties"] and "owner" not in body["properties"]


@pytest.mark.parametrize("image_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_image_retrieve_unknown_is_404(admin_client, image_id):
    response = admin_client.get(url(image_id))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- create ---------------------------------------------------------------------


def test_image_create_file_direct(admin_client, glance_admin, cleanup):
    response = admin_client.post(
        IMAGES, create_body(hw_disk_bus="virtio", count=3, flag=True), format="json"
    )
    assert response.status_code == 201
    body = response.json()
    cleanup.append(body["id"])
    assert response["Location"] == f"http://testserver{url(body['id'])}"
    assert body["upload_url"].startswith("http://testserver/api/glance/uploads/")
    assert "token_id" not in body
    held = glance_admin.images.get(body["id"])
    assert (held["hw_disk_bus"], held["count"], held["flag"]) == ("virtio", "3", "true")
    assert held["status"] == "queued"


def test_image_create_by_put_on_the_collection(admin_client, cleanup):
    response = admin_client.put(IMAGES, create_body(), format="json")
    assert response.status_code == 201
    cleanup.append(response.json()["id"])


@pytest.mark.parametrize(
    "pseudo, disk, container",
    [
        ("docker", "raw", "docker"),
        ("ova", "vmdk", "ova"),
        ("vhd", "vhd", "ovf"),
        ("ami", "ami", "ami"),
        ("qcow2", "qcow2", "bare"),
    ],
)
def test_image_create_maps_pseudo_formats(admin_client, cleanup, pseudo, disk, container):
    body = admin_client.post(IMAGES, create_body(disk_format=pseudo), format="json").json()
    cleanup.append(body["id"])
    assert (body["disk_format"], body["container_format"]) == (disk, container)


def test_image_create_multipart_streams_the_file(admin_client, glance_admin, cleanup):
    data = bytes(range(256)) * (3 * 1024 * 1024 // 256 + 7)  # a little over 3 MiB
    response = admin_client.post(
        IMAGES,
        {
            **create_body(source_type="file-legacy", os_type="linux"),
            "data": io.BytesIO(data),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    cleanup.append(body["id"])
    assert body["status"] == "active"
    assert body["size"] == len(data)
    assert body["checksum"] == hashlib.md5(data).hexdigest()
    assert body["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert glance_admin.images.get(body["id"])["os_type"] == "linux"


def test_image_create_kernel_ramdisk_and_tags(admin_client, cleanup):
    body = admin_client.post(
        IMAGES,
        create_body(kernel="kern", ramdisk="ram", tags=["a", "b"], min_disk=2, min_ram=512),
        format="json",
    ).json()
    cleanup.append(body["id"])
    assert (body["kernel_id"], body["ramdisk_id"]) == ("kern", "ram")
    assert sorted(body["tags"]) == ["a", "b"] and (body["min_disk"], body["min_ram"]) == (2, 512)


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"visibility": "everyone"}, "visibility"),
        ({"disk_format": "floppy"}, "disk_format"),
        ({"min_disk": -1}, "min_disk"),
        ({"min_ram": "lots"}, "min_ram"),
        ({"name": "n" * 256}, "name"),
        ({"nested": {"a": 1}}, "nested"),
        ({"listed": [1, 2]}, "listed"),
        ({"id": str(uuid.uuid4())}, "id"),
        ({"status": "active"}, "status"),
        ({"owner": "someone"}, "owner"),
        ({"os_hash_value": "abc"}, "os_hash_value"),
        ({"os_glance_import_task": "x"}, "os_glance_import_task"),
        ({"locations": []}, "locations"),
        ({"source_type": "url", "image_url": "ftp://example.com/x.img"}, "image_url"),
        ({"source_type": "url"}, "image_url"),
        ({"source_type": "carrier-pigeon"}, "source_type"),
        ({"protected": "perhaps"}, "protected"),
    ],
)
def test_image_create_bad_input_is_400_and_creates_nothing(
    admin_client, glance_admin, fields, field
):
    body = create_body(**fields)
    response = admin_client.post(IMAGES, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not list(glance_admin.images.list(filters={"name": body["name"]}))


@pytest.mark.parametrize("payload", ["[1, 2]", '"text"', "{not json"])
def test_image_create_body_not_an_object_is_400(admin_client, payload):
    response = admin_client.generic("POST", IMAGES, payload, content_type="application/json")
    assert response.status_code == 400


@pytest.fixture
def locations_allowed(app_settings):
    app_settings.GLANCE_API = {**app_settings.GLANCE_API, "ALLOW_IMAGE_LOCATION": True}


@pytest.fixture
def locations_api(glance_admin) -> bool:
    """Whether the dev cloud's Glance has the locations API (v2.17: 2024.2 and later), as
    Glance's own versions document says (DEVCLOUD_RELEASE=2024.1 has not)."""
    return any(v["id"] == "v2.17" for v in glance_admin.versions.list())


def refused_for_an_older_glance(response, glance_admin, name: str) -> None:
    """An older Glance: a 501 that names what is missing, and nothing was created."""
    assert response.status_code == 501, response.content
    assert response.json()["code"] == "glance_too_old"
    assert "v2.17" in response.json()["detail"] and "2024.2" in response.json()["detail"]
    assert not list(glance_admin.images.list(filters={"name": name}))


def test_image_create_url_as_location_is_refused_by_default(admin_client, glance_admin):
    body = create_body(source_type="url", image_url="http://127.0.0.1:9/disk.img")
    response = admin_client.post(IMAGES, body, format="json")
    assert response.status_code == 400
    assert "ALLOW_IMAGE_LOCATION" in response.json()["import_data"][0]
    assert not list(glance_admin.images.list(filters={"name": body["name"]}))


def test_image_create_url_as_location(
    admin_client, glance_admin, file_server, cleanup, locations_allowed, locations_api
):
    data = b"location bytes" * 1000
    image_url = file_server.serve("/loc.raw", data)
    body = create_body(source_type="url", image_url=image_url)
    response = admin_client.post(IMAGES, body, format="json")
    if not locations_api:
        refused_for_an_older_glance(response, glance_admin, body["name"])
        return
    assert response.status_code == 201, response.content
    body = response.json()
    cleanup.append(body["id"])
    assert body["status"] == "active" and body["size"] == len(data)
    assert "locations" not in body  # Glance shows no locations (show_multiple_locations off)
    assert b"".join(glance_admin.images.data(body["id"])) == data  # read from the URL


def test_image_create_url_imported_by_web_download(
    admin_client, glance_admin, file_server, cleanup
):
    data = b"imported bytes" * 1000
    image_url = file_server.serve("/import.raw", data)
    response = admin_client.post(
        IMAGES,
        create_body(source_type="url", image_url=image_url, import_data=True),
        format="json",
    )
    assert response.status_code == 201, response.content
    cleanup.append(response.json()["id"])
    image = wait_for(glance_admin, response.json()["id"], "active")
    assert image["checksum"] == hashlib.md5(data).hexdigest()
    assert not image.get("locations") or image["locations"][0]["url"] != image_url


def wait_for(glance, image_id: str, status: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        image = glance.images.get(image_id)
        if image["status"] == status or time.monotonic() > deadline:
            assert image["status"] == status, dict(image)
            return image
        time.sleep(0.2)


def test_image_create_location_refused_leaves_no_image(
    admin_client, glance_admin, closed_port, locations_allowed, locations_api
):
    """Glance cannot read the URL, so it refuses the location: the new image is deleted."""
    body = create_body(source_type="url", image_url=f"http://127.0.0.1:{closed_port}/none.img")
    response = admin_client.post(IMAGES, body, format="json")
    if not locations_api:
        refused_for_an_older_glance(response, glance_admin, body["name"])
        return
    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    assert "adding the image URL as its location failed" in detail
    assert "deleted again" in detail and response.json()["code"] == "invalid"
    assert not list(glance_admin.images.list(filters={"name": body["name"]}))


# --- update, properties, actions, delete ------------------------------------------


def test_image_update_echo_of_the_whole_image(admin_client, glance_admin, make_image):
    image = make_image(os_distro="debian", min_disk=3)
    shown = admin_client.get(url(image["id"])).json()
    edited = {**shown, "name": "renamed", "architecture": "x86_64", "new_prop": "yes"}
    response = admin_client.patch(url(image["id"]), edited, format="json")
    assert response.status_code == 204, response.content
    held = glance_admin.images.get(image["id"])
    assert (held["name"], held["architecture"], held["new_prop"]) == ("renamed", "x86_64", "yes")
    assert held["min_disk"] == 3 and held["os_distro"] == "debian"


def test_image_update_absent_optional_fields_stay(admin_client, glance_admin, make_image):
    image = make_image(min_disk=3, min_ram=256)
    body = {"name": "n", "disk_format": "raw", "visibility": "private", "protected": False}
    response = admin_client.patch(
        url(image["id"]), body, format="json", HTTP_PREFER="return=representation"
    )
    assert response.status_code == 200
    assert (response.json()["min_disk"], response.json()["min_ram"]) == (3, 256)


def test_image_update_requires_the_seed_fields(admin_client, make_image):
    image = make_image()
    response = admin_client.patch(url(image["id"]), {"name": "only"}, format="json")
    assert response.status_code == 400
    assert {"disk_format", "visibility", "protected"} <= set(response.json())


def test_image_update_changed_glance_attribute_is_400(admin_client, glance_admin, make_image):
    image = make_image(name="keep")
    shown = admin_client.get(url(image["id"])).json()
    response = admin_client.patch(
        url(image["id"]), {**shown, "name": "x", "size": 42}, format="json"
    )
    assert response.status_code == 400
    assert "size" in response.json()
    assert glance_admin.images.get(image["id"])["name"] == "keep"


def test_image_properties_round_trip(admin_client, glance_admin, make_image):
    image = make_image(color="blue", shape="round")
    props = admin_client.get(url(image["id"], "properties/")).json()
    assert props["color"] == "blue" and "name" not in props
    response = admin_client.patch(
        url(image["id"], "properties/"),
        {"updated": {"color": "red", "os_hidden": "true", "size_hint": 5}, "removed": ["shape"]},
        format="json",
    )
    assert response.status_code == 204, response.content
    held = glance_admin.images.get(image["id"])
    assert held["color"] == "red" and held["os_hidden"] is True and held["size_hint"] == "5"
    assert "shape" not in held


@pytest.mark.parametrize(
    "body",
    [
        {"updated": ["a"]},
        {"removed": "a"},
        {"updated": {"a": {"b": 1}}},
        {"updated": {"status": "active"}},
        {"removed": ["id"]},
        {"updated": {"os_hidden": "maybe"}},
    ],
)
def test_image_properties_bad_patch_is_400(admin_client, glance_admin, make_image, body):
    image = make_image(color="blue")
    response = admin_client.patch(url(image["id"], "properties/"), body, format="json")
    assert response.status_code == 400
    assert glance_admin.images.get(image["id"])["color"] == "blue"


def test_image_deactivate_and_reactivate(admin_client, glance_admin, make_image):
    image = make_image(data=b"bytes" * 100)
    assert admin_client.post(url(image["id"], "actions/deactivate/")).status_code == 204
    assert glance_admin.images.get(image["id"])["status"] == "deactivated"
    assert admin_client.post(url(image["id"], "actions/reactivate/")).status_code == 204
    assert glance_admin.images.get(image["id"])["status"] == "active"


def test_image_deactivate_queued_is_refused_with_glances_reason(
    admin_client, glance_admin, make_image
):
    image = make_image()
    response = admin_client.post(url(image["id"], "actions/deactivate/"))
    assert response.status_code == 403  # Glance's own answer for a queued image
    assert "queued" in response.json()["detail"]
    assert glance_admin.images.get(image["id"])["status"] == "queued"


def test_image_delete(admin_client, glance_admin, make_image):
    image = make_image()
    assert admin_client.delete(url(image["id"])).status_code == 204
    with pytest.raises(glance_exc.HTTPNotFound):
        glance_admin.images.get(image["id"])


def test_image_delete_protected_is_403_and_keeps_it(admin_client, glance_admin, make_image):
    image = make_image(protected=True)
    response = admin_client.delete(url(image["id"]))
    assert response.status_code == 403
    assert "protected" in response.json()["detail"].lower()
    assert glance_admin.images.get(image["id"])["id"] == image["id"]


def test_image_put_on_one_image_is_405(admin_client, make_image):
    image = make_image()
    assert admin_client.put(url(image["id"]), {}, format="json").status_code == 405


# --- isolation through Glance's policy ----------------------------------------------


def test_demo_cannot_see_admin_private_image(demo_client, make_image):
    image = make_image(visibility="private")
    assert demo_client.get(url(image["id"])).status_code == 404
    listed = demo_client.get(IMAGES, {"name": image["name"]}).json()["items"]
    assert image["id"] not in [i["id"] for i in listed]


def test_demo_cannot_change_or_delete_admin_public_image(demo_client, glance_admin, make_image):
    image = make_image(visibility="public", name="admins")
    assert demo_client.get(url(image["id"])).status_code == 200
    assert demo_client.delete(url(image["id"])).status_code == 403
    update = {"name": "mine", "disk_format": "raw", "visibility": "public", "protected": False}
    assert demo_client.patch(url(image["id"]), update, format="json").status_code == 403
    assert glance_admin.images.get(image["id"])["name"] == "admins"

"""What the dashboard's own client (Horizon 27's glance.service.js and its wizards) sends,
sent here as it sends it, against the real dev cloud."""

import hashlib
import io
import json
import os
import time
import uuid

import pytest
from rest_framework.test import APIClient

from tests.helpers import IMAGES, url


def wizard_fields(**more) -> dict:
    """The create wizard's image model (create-image.controller.js), as it sends it."""
    return {
        "name": f"dash-{uuid.uuid4().hex[:8]}",
        "description": "from the wizard",
        "import_data": False,
        "visibility": "private",
        "protected": False,
        "min_disk": 0,
        "min_ram": 0,
        "disk_format": "raw",
        "container_format": "bare",
        "is_copying": False,
        "architecture": "x86_64",
        **more,
    }


def test_direct_upload_through_the_upload_url(demo_client, glance_demo, cleanup_images):
    data = os.urandom(2 * 1024 * 1024 + 5)
    created = demo_client.put(
        IMAGES, wizard_fields(source_type="file-direct", data="disk.raw"), format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    cleanup_images.append(body["id"])
    assert not body.get("token_id") and "disk.raw" not in json.dumps(body.get("properties"))
    upload_url = body["upload_url"]
    assert "/uploads/" in upload_url and body["id"] not in upload_url

    browser = APIClient(enforce_csrf_checks=True)  # no token, no CSRF header
    path = upload_url.removeprefix("http://testserver")
    response = browser.generic("PUT", path, data, content_type="application/octet-stream")
    assert response.status_code == 200, response.content
    held = glance_demo.images.get(body["id"])
    assert held["status"] == "active"
    assert held["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert "is_copying" not in held and "data" not in held

    again = browser.generic("PUT", path, b"more", content_type="application/octet-stream")
    assert again.status_code == 404 and again.json()["code"] == "not_found"


def test_upload_url_altered_or_expired_changes_nothing(
    demo_client, glance_demo, cleanup_images, app_settings
):
    app_settings.GLANCE_API = {**app_settings.GLANCE_API, "UPLOAD_URL_SECONDS": 1}
    body = demo_client.put(IMAGES, wizard_fields(source_type="file-direct"), format="json").json()
    cleanup_images.append(body["id"])
    path = body["upload_url"].removeprefix("http://testserver")
    browser = APIClient()
    altered = browser.generic(
        "PUT", path[:-3] + "xx/", b"abc", content_type="application/octet-stream"
    )
    assert altered.status_code == 404 and altered.json()["detail"]
    time.sleep(1.5)
    expired = browser.generic("PUT", path, b"abc", content_type="application/octet-stream")
    assert expired.status_code == 404
    assert glance_demo.images.get(body["id"])["status"] == "queued"


def test_upload_url_is_for_that_image_only(demo_client, glance_demo, cleanup_images):
    first = demo_client.put(IMAGES, wizard_fields(source_type="file-direct"), format="json").json()
    second = demo_client.put(IMAGES, wizard_fields(source_type="file-direct"), format="json").json()
    cleanup_images.extend([first["id"], second["id"]])
    path = first["upload_url"].removeprefix("http://testserver")
    APIClient().generic("PUT", path, b"x" * 1024, content_type="application/octet-stream")
    assert glance_demo.images.get(first["id"])["status"] == "active"
    assert glance_demo.images.get(second["id"])["status"] == "queued"


def test_legacy_multipart_upload_with_original_json(demo_client, glance_demo, cleanup_images):
    fields = wizard_fields(
        source_type="file-legacy",
        min_disk=2,
        min_ram=512,
        protected=False,
        os_distro="debian",
        is_copying=False,
        image_file="disk.raw",
    )
    data = os.urandom(300_000)
    upload = io.BytesIO(data)
    upload.name = "disk.raw"
    form = {
        key: str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in fields.items()
    }
    form["$$originalJSON"] = json.dumps(fields)
    form["data"] = upload
    response = demo_client.post(IMAGES, form, format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    cleanup_images.append(body["id"])
    held = glance_demo.images.get(body["id"])
    assert (held["min_disk"], held["min_ram"], held["protected"]) == (2, 512, False)
    assert held["os_distro"] == "debian" and held["status"] == "active"
    assert held["os_hash_value"] == hashlib.sha512(data).hexdigest()
    for bookkeeping in ("is_copying", "image_file", "$$originalJSON", "source_type"):
        assert bookkeeping not in held, bookkeeping


def test_bookkeeping_keys_are_never_properties(demo_client, glance_demo, cleanup_images):
    response = demo_client.put(
        IMAGES,
        wizard_fields(
            source_type="file-direct",
            is_copying=False,
            source="file",
            image_id="",
            public=False,
            is_public=False,
            image_file=None,
        ),
        format="json",
    )
    assert response.status_code == 201, response.content
    cleanup_images.append(response.json()["id"])
    held = glance_demo.images.get(response.json()["id"])
    assert not {"is_copying", "source", "image_id", "public", "is_public", "image_file"} & set(held)


def test_update_metadata_echoes_what_get_properties_gave(admin_client, glance_admin, make_image):
    image = make_image(name="echo", data=b"x" * 4096, os_distro="debian", keep_me="yes")
    props = admin_client.get(url(image["id"], "properties/")).json()
    assert "stores" in props  # Glance owns it; the dashboard sends it back
    updated = {
        k: v for k, v in props.items() if k not in ("os_hash_algo", "os_hash_value", "keep_me")
    }
    updated["hw_disk_bus"] = "virtio"
    response = admin_client.patch(
        url(image["id"], "properties/"), {"updated": updated, "removed": ["keep_me"]}, format="json"
    )
    assert response.status_code == 204, response.content
    held = glance_admin.images.get(image["id"])
    assert held["hw_disk_bus"] == "virtio" and "keep_me" not in held
    assert held["os_distro"] == "debian"

    changed = admin_client.patch(
        url(image["id"], "properties/"),
        {"updated": {**updated, "stores": "elsewhere"}},
        format="json",
    )
    assert changed.status_code == 400 and list(changed.json()["updated"]) == ["stores"]


def test_removing_what_glance_owns_is_400_and_keeps_every_property(
    admin_client, glance_admin, make_image
):
    """Edit Image submitted before its metadata step loaded: every property in removed."""
    image = make_image(name="keep", data=b"y" * 4096, os_distro="debian", team="blue")
    everything = list(admin_client.get(url(image["id"], "properties/")).json())
    response = admin_client.patch(
        url(image["id"], "properties/"),
        {"updated": {"description": "new"}, "removed": everything},
        format="json",
    )
    assert response.status_code == 400 and "removed" in response.json()
    held = glance_admin.images.get(image["id"])
    assert (held["os_distro"], held["team"]) == ("debian", "blue")


def test_edit_image_after_a_properties_patch_with_a_stale_copy(
    admin_client, glance_admin, make_image
):
    image = make_image(name="stale", os_distro="debian")
    loaded = admin_client.get(url(image["id"])).json()  # what the dialog holds
    time.sleep(1.1)
    admin_client.patch(
        url(image["id"], "properties/"),
        {"updated": {"os_distro": "debian", "hw_disk_bus": "virtio"}},
        format="json",
    )
    assert glance_admin.images.get(image["id"])["updated_at"] != loaded["updated_at"]
    edited = {**loaded, "name": "stale-renamed", "min_ram": 256}
    response = admin_client.patch(url(image["id"]), edited, format="json")
    assert response.status_code == 204, response.content
    held = glance_admin.images.get(image["id"])
    assert (held["name"], held["min_ram"]) == ("stale-renamed", 256)
    assert (held["os_distro"], held["hw_disk_bus"]) == ("debian", "virtio")


@pytest.mark.parametrize("target, expected", [("metadata", True), ("scheduler_hints", False)])
def test_namespaces_filtered_on_properties_target(demo_client, target, expected):
    response = demo_client.get(
        "/api/glance/metadefs/namespaces/",
        {"resource_type": "OS::Nova::Server", "properties_target": target},
    )
    assert response.status_code == 200
    names = [ns["namespace"] for ns in response.json()["items"]]
    for namespace in response.json()["items"]:
        targets = {
            a.get("properties_target")
            for a in namespace["resource_type_associations"]
            if a["name"] == "OS::Nova::Server"
        }
        assert targets == {target}, namespace["namespace"]
    assert names or not expected


class _OpenstackAuthUser:
    """What openstack_auth puts on request.user inside Horizon: a token with an id."""

    is_authenticated = True

    def __init__(self, token: str):
        self.token = type("Token", (), {"id": token})()


def horizon_request(rf, token: str, method: str = "get", csrf: str | None = None):
    from rest_framework.request import Request

    django_request = getattr(rf, method)(
        "/api/glance/version/", **({"HTTP_X_CSRFTOKEN": csrf} if csrf else {})
    )
    django_request.user = _OpenstackAuthUser(token)
    return Request(django_request)


def test_horizon_session_is_authenticated_with_its_keystone_token(rf, demo_token):
    from glance_api.auth import HorizonSessionAuthentication

    user, access_info = HorizonSessionAuthentication().authenticate(horizon_request(rf, demo_token))
    assert access_info.auth_token == demo_token and user.username == "demo"


def test_horizon_session_needs_csrf_on_unsafe_methods(rf, demo_token):
    from rest_framework import exceptions

    from glance_api.auth import HorizonSessionAuthentication

    with pytest.raises(exceptions.PermissionDenied):
        HorizonSessionAuthentication().authenticate(horizon_request(rf, demo_token, "post"))


def test_outside_horizon_the_horizon_session_authenticates_no_one(rf):
    from rest_framework.request import Request

    from glance_api.auth import HorizonSessionAuthentication

    django_request = rf.get("/")
    django_request.user = type("Anonymous", (), {"is_authenticated": False})()
    assert HorizonSessionAuthentication().authenticate(Request(django_request)) is None


def test_horizon_enabled_file_adds_the_app_as_a_feature():
    """Horizon skips an enabled file without DASHBOARD, PANEL, PANEL_GROUP or FEATURE."""
    from pathlib import Path

    from glance_api import horizon

    enabled = Path(horizon.__file__).parent / "enabled" / "_9100_glance_api.py"
    namespace = {}
    exec(compile(enabled.read_text(), str(enabled), "exec"), namespace)
    assert namespace["FEATURE"] is True
    assert {"rest_framework", "glance_api"} <= set(namespace["ADD_INSTALLED_APPS"])

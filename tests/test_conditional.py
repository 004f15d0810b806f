"""Conditional requests on an image (issue 24): ETags of images/{id}/ and properties/,
If-None-Match 304, If-Match 412 that changes nothing when someone else changed the image
between the read and the write."""

import pytest

from tests.helpers import IMAGES

# what the dashboard's Edit Image always sends besides what was edited
FORM = {"disk_format": "raw", "visibility": "private", "protected": False}


@pytest.fixture
def image(make_image):
    return make_image(name="conditional", os_distro="debian")


def test_the_image_and_its_properties_carry_one_etag_that_changes_with_any_change(
    admin_client, glance_admin, image
):
    first = admin_client.get(f"{IMAGES}{image['id']}/")
    assert first.status_code == 200 and first["ETag"].startswith('"')
    assert admin_client.get(f"{IMAGES}{image['id']}/properties/")["ETag"] == first["ETag"]
    assert admin_client.get(f"{IMAGES}{image['id']}/")["ETag"] == first["ETag"]  # stable
    glance_admin.images.update(image["id"], hw_foo="bar")  # a property, changed elsewhere
    assert admin_client.get(f"{IMAGES}{image['id']}/")["ETag"] != first["ETag"]


def test_if_none_match_with_the_current_etag_is_304(admin_client, image):
    etag = admin_client.get(f"{IMAGES}{image['id']}/")["ETag"]
    for path in ("", "properties/"):
        answer = admin_client.get(f"{IMAGES}{image['id']}/{path}", HTTP_IF_NONE_MATCH=etag)
        assert answer.status_code == 304 and answer["ETag"] == etag
    assert (
        admin_client.get(f"{IMAGES}{image['id']}/", HTTP_IF_NONE_MATCH='"stale"').status_code == 200
    )


def test_an_edit_with_the_etag_it_read_is_refused_once_someone_else_changed_the_image(
    admin_client, glance_admin, image
):
    """The dashboard's Edit Image case: the form loaded the image, someone else changed it,
    the form's save must not overwrite that change."""
    etag = admin_client.get(f"{IMAGES}{image['id']}/")["ETag"]
    glance_admin.images.update(image["id"], name="renamed by someone else")
    answer = admin_client.patch(
        f"{IMAGES}{image['id']}/", {"name": "my edit", **FORM}, format="json", HTTP_IF_MATCH=etag
    )
    assert answer.status_code == 412 and answer.json()["code"] == "precondition_failed"
    answer = admin_client.patch(
        f"{IMAGES}{image['id']}/properties/",
        {"updated": {"os_distro": "ubuntu"}, "removed": []},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert answer.status_code == 412
    answer = admin_client.delete(f"{IMAGES}{image['id']}/", HTTP_IF_MATCH=etag)
    assert answer.status_code == 412
    held = glance_admin.images.get(image["id"])
    assert held["name"] == "renamed by someone else" and held["os_distro"] == "debian"


def test_an_edit_with_the_current_etag_goes_through_and_answers_the_new_one(
    admin_client, glance_admin, image
):
    etag = admin_client.get(f"{IMAGES}{image['id']}/")["ETag"]
    answer = admin_client.patch(
        f"{IMAGES}{image['id']}/", {"name": "my edit", **FORM}, format="json", HTTP_IF_MATCH=etag
    )
    assert answer.status_code == 204
    assert answer["ETag"] == admin_client.get(f"{IMAGES}{image['id']}/")["ETag"] != etag
    answer = admin_client.patch(
        f"{IMAGES}{image['id']}/properties/",
        {"updated": {"os_distro": "ubuntu"}, "removed": []},
        format="json",
        HTTP_IF_MATCH=answer["ETag"],
    )
    assert answer.status_code == 204
    assert glance_admin.images.get(image["id"])["os_distro"] == "ubuntu"
    current = admin_client.get(f"{IMAGES}{image['id']}/")["ETag"]
    assert admin_client.delete(f"{IMAGES}{image['id']}/", HTTP_IF_MATCH=current).status_code == 204


def test_a_weak_etag_never_matches_if_match(admin_client, image):
    etag = admin_client.get(f"{IMAGES}{image['id']}/")["ETag"]
    answer = admin_client.patch(
        f"{IMAGES}{image['id']}/", {"name": "x", **FORM}, format="json", HTTP_IF_MATCH=f"W/{etag}"
    )
    assert answer.status_code == 412

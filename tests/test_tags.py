"""Image tags against the real dev cloud."""

from tests.helpers import url


def test_tags_add_and_remove(admin_client, glance_admin, make_image):
    image = make_image(tags=["keep"])
    assert admin_client.put(url(image["id"], "tags/new tag/")).status_code == 204
    assert set(glance_admin.images.get(image["id"])["tags"]) == {"keep", "new tag"}
    assert admin_client.delete(url(image["id"], "tags/keep/")).status_code == 204
    assert glance_admin.images.get(image["id"])["tags"] == ["new tag"]

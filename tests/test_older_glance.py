"""The rest of Glance v2 where the Glance is older (issue 24): each route asks the Glance
endpoint's versions document, and where the API version it needs is missing, the answer
is a 501 that names it, with nothing changed.

The older Glance is the dev cloud's, behind a proxy on loopback that passes every request
on and changes only the versions document: to the versions up to 2.9 (Train's), as such
a Glance lists them, or without 2.14, 2.16 and 2.18, as a Glance lists them that has no
image cache (glance/api/versions.py). Nothing else of Glance is changed; the app is
pointed at the proxy (``GLANCE_URL``)."""

from tests.helpers import IMAGES


def lacks(response, version: str, release: str) -> str:
    assert response.status_code == 501, response.content
    body = response.json()
    assert body["code"] == "glance_too_old"
    assert f"v{version}" in body["detail"] and release in body["detail"]
    assert "v2.9" in body["detail"]  # what this Glance offers
    return body["detail"]


def test_each_feature_names_the_api_version_it_needs(
    glance_listing, admin_client, make_image, glance_admin
):
    glance_listing(lambda version: version <= (2, 9))
    image = make_image(data=b"older" * 100)
    assert admin_client.get(f"{IMAGES}{image['id']}/").status_code == 200  # the rest works
    assert "tasks" in lacks(admin_client.get(f"{IMAGES}{image['id']}/tasks/"), "2.12", "Wallaby")
    lacks(admin_client.delete(f"{IMAGES}{image['id']}/stores/fs/"), "2.10", "Ussuri")
    assert glance_admin.images.get(image["id"])["stores"] == "fs"  # nothing was changed
    lacks(admin_client.get("/api/glance/info/stores/detail/"), "2.15", "Bobcat")
    lacks(admin_client.get("/api/glance/cache/"), "2.14", "Antelope")
    lacks(admin_client.put(f"/api/glance/cache/{image['id']}/"), "2.14", "Antelope")
    lacks(admin_client.delete("/api/glance/cache/"), "2.14", "Antelope")


def test_without_an_image_cache_the_cache_routes_say_so(glance_listing, admin_client, make_image):
    glance_listing(lambda version: version not in ((2, 14), (2, 16), (2, 18)))
    image = make_image(data=b"uncached" * 100)
    for response in (
        admin_client.get("/api/glance/cache/"),
        admin_client.put(f"/api/glance/cache/{image['id']}/"),
        admin_client.delete(f"/api/glance/cache/{image['id']}/"),
    ):
        assert response.status_code == 501, response.content
        assert "image cache" in response.json()["detail"]
        assert "v2.14" in response.json()["detail"]
    # the features a newer version brought are there
    assert admin_client.get(f"/api/glance/images/{image['id']}/tasks/").status_code == 200

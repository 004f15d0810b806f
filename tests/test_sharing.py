"""Sharing an image between the two identities, against the real dev cloud."""

import uuid

from tests.helpers import IMAGES, url


def test_sharing_round_trip(admin_client, demo_client, demo_session, glance_admin):
    created = admin_client.post(
        IMAGES,
        {
            "name": f"shared-{uuid.uuid4().hex[:6]}",
            "source_type": "file-direct",
            "disk_format": "raw",
            "visibility": "shared",
            "protected": False,
        },
        format="json",
    ).json()
    image_id, demo_project = created["id"], demo_session.get_project_id()

    def demo_lists(**query) -> bool:
        items = demo_client.get(IMAGES, {"name": created["name"], **query}).json()["items"]
        return image_id in [i["id"] for i in items]

    try:
        assert demo_client.get(url(image_id)).status_code == 404
        added = admin_client.post(
            url(image_id, "members/"), {"member_id": demo_project}, format="json"
        )
        assert added.status_code == 201, added.content
        assert added.json()["status"] == "pending"
        members = admin_client.get(url(image_id, "members/")).json()["members"]
        assert [m["member_id"] for m in members] == [demo_project]

        assert (
            demo_client.get(url(image_id, f"members/{demo_project}/")).json()["status"] == "pending"
        )
        assert demo_lists(member_status="pending") and not demo_lists()
        accepted = demo_client.patch(
            url(image_id, f"members/{demo_project}/"), {"status": "accepted"}, format="json"
        )
        assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
        assert demo_lists() and demo_client.get(url(image_id)).status_code == 200

        bad = demo_client.patch(
            url(image_id, f"members/{demo_project}/"), {"status": "maybe"}, format="json"
        )
        assert bad.status_code == 400 and "status" in bad.json()

        removed = admin_client.delete(url(image_id, f"members/{demo_project}/"))
        assert removed.status_code == 204
        assert not demo_lists() and demo_client.get(url(image_id)).status_code == 404
    finally:
        glance_admin.images.delete(image_id)


def test_demo_cannot_share_the_admins_image(demo_client, demo_session, make_image):
    image = make_image(visibility="shared")
    response = demo_client.post(
        url(image["id"], "members/"), {"member_id": demo_session.get_project_id()}, format="json"
    )
    assert response.status_code in (403, 404)

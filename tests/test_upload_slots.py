"""Uploads a user may have running at a time (``UPLOADS_PER_USER``,
``glance_api.dataplane.uploadslots``), wherever they come in."""

import uuid

import pytest
from django.core.cache import caches

from glance_api.conf import settings as app_settings
from tests.helpers import IMAGES, direct_create, multipart_fields

# --- uploads: a few at a time per user, wherever they come in ----------------------------
# (security review two, finding 5)


def test_uploads_beyond_the_users_limit_are_429_before_their_body_is_read(
    admin_client, anon_client, admin_token, make_image, glance_admin, settings
):
    """With UPLOADS_PER_USER uploads of a user running (their slots held here), one more,
    by any way in, is refused with Retry-After, and its image stays as it was; another
    user is not limited, and a slot that comes free is taken again."""
    from glance_api import keystone
    from glance_api.dataplane import uploadslots

    settings.GLANCE_API = {**settings.GLANCE_API, "UPLOADS_PER_USER": 2}
    user_id = keystone.validate_token(admin_token).user_id
    image = make_image(name="limited")
    direct = admin_client.post(
        IMAGES,
        direct_create("limited-direct"),
        format="json",
    ).json()
    try:
        with uploadslots.upload_slot(user_id), uploadslots.upload_slot(user_id):
            refused = [
                admin_client.put(
                    f"{IMAGES}{image['id']}/file/",
                    data=b"x" * 1000,
                    content_type="application/octet-stream",
                ),
                admin_client.put(
                    f"{IMAGES}{image['id']}/stage/",
                    data=b"x" * 1000,
                    content_type="application/octet-stream",
                ),
                anon_client.put(
                    direct["upload_url"], data=b"x" * 1000, content_type="application/octet-stream"
                ),
                admin_client.generic(
                    "POST",
                    IMAGES,
                    multipart_fields(
                        {
                            "name": "limited-multipart",
                            "source_type": "file-legacy",
                            "disk_format": "raw",
                            "visibility": "private",
                            "protected": "false",
                        }
                    ),
                    content_type="multipart/form-data; boundary=XB",
                ),
            ]
            for answer in refused:
                assert answer.status_code == 429, answer.content
                assert answer["Retry-After"] == str(uploadslots.RETRY_AFTER)
                assert "uploads at a time per user" in answer.json()["detail"]
            assert glance_admin.images.get(image["id"])["status"] == "queued"
            with uploadslots.upload_slot("someone-else"):
                pass
        # free again: the upload URL was left usable, and the image takes its data
        answer = anon_client.put(
            direct["upload_url"], data=b"y" * 1000, content_type="application/octet-stream"
        )
        assert answer.status_code == 200, answer.content
        answer = admin_client.put(
            f"{IMAGES}{image['id']}/file/",
            data=b"x" * 1000,
            content_type="application/octet-stream",
        )
        assert answer.status_code == 200, answer.content
    finally:
        glance_admin.images.delete(direct["id"])
    assert list(glance_admin.images.list(filters={"name": "limited-multipart"})) == []


# --- upload slots cannot leak past the limit ---------------------------------------------
# (security review three, finding 6)


def test_uploads_outlasting_their_count_do_not_lift_the_limit(settings, monkeypatch):
    """Two uploads run while their count expires; a third starts (a new count); the two
    end. The user is still held to the limit: the ended two do not count the new one
    down."""
    from rest_framework.exceptions import Throttled

    from glance_api.dataplane import uploadslots

    settings.GLANCE_API = {**settings.GLANCE_API, "UPLOADS_PER_USER": 2}
    cache = caches[app_settings.CACHE_ALIAS]
    user = f"user-{uuid.uuid4().hex}"
    first, second = uploadslots.upload_slot(user), uploadslots.upload_slot(user)
    first.__enter__()
    second.__enter__()
    for key in [k for k in cache._cache if uploadslots._key(user).split(":")[-1] in k]:
        cache.delete(key.split(":", 2)[-1])  # the count (and its epoch) expire
    with uploadslots.upload_slot(user):
        first.__exit__(None, None, None)
        second.__exit__(None, None, None)
        with uploadslots.upload_slot(user):
            with pytest.raises(Throttled):  # two running: a third is refused
                with uploadslots.upload_slot(user):
                    pass

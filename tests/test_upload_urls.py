"""The upload URL a ``file-direct`` create answers with (``uploads/{secret}/``): redeemed
once, written nowhere before it is checked, its token sealed; against the real dev cloud."""

import secrets

from django.core.cache import caches

from glance_api.conf import settings as app_settings
from glance_api.dataplane import capabilities
from tests.helpers import IMAGES, direct_create

# --- upload grants: nothing written for a guess, no token in the cache -------------------
# (security review two, findings 3 and 4)


def _cache_keys() -> int:
    cache = caches[app_settings.CACHE_ALIAS]
    return len(cache._cache)  # LocMemCache, the tests' cache


def test_redeeming_an_unknown_secret_writes_nothing(anon_client):
    before = _cache_keys()
    for _ in range(20):
        response = anon_client.put(
            f"/api/glance/uploads/{secrets.token_urlsafe(32)}/",
            data=b"x",
            content_type="application/octet-stream",
        )
        assert response.status_code == 404
    assert _cache_keys() == before


def test_a_grant_is_redeemed_once_and_its_token_is_sealed_in_the_cache():
    token = "gAAAA-a-keystone-token-" + secrets.token_hex(16)
    secret = capabilities.issue(token, "user-1", "image-1")
    held = caches[app_settings.CACHE_ALIAS].get(capabilities._key(secret))
    assert token not in repr(held) and set(held) == {"sealed_token", "user_id", "image_id"}
    assert capabilities.redeem(secret) == {
        "token": token,
        "user_id": "user-1",
        "image_id": "image-1",
    }
    assert capabilities.redeem(secret) is None


def test_a_grant_does_not_open_with_another_secret():
    secret = capabilities.issue("a-token", "user-1", "image-1")
    other = secrets.token_urlsafe(32)
    cache = caches[app_settings.CACHE_ALIAS]
    cache.set(capabilities._key(other), cache.get(capabilities._key(secret)), 60)
    assert capabilities.redeem(other) is None


# --- an upload's path without its final slash works, however it comes --------------------
# (security review three, finding 12)

OCTETS = "application/octet-stream"


def test_an_upload_url_without_the_final_slash_takes_the_data(
    demo_client, anon_client, glance_demo
):
    created = demo_client.post(IMAGES, direct_create("unslashed"), format="json").json()
    try:
        answer = anon_client.put(
            created["upload_url"].rstrip("/"), data=b"z" * 1000, content_type=OCTETS
        )
        assert answer.status_code == 200, answer.content
        assert glance_demo.images.get(created["id"])["size"] == 1000
    finally:
        glance_demo.images.delete(created["id"])

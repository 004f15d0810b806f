"""The second security review (issue 23): each finding, as a test that fails without its
fix. Against the real dev cloud, in-process; nginx's part is in ``test_stack.py``."""

import secrets

import pytest
from django.core.cache import caches

from devcloud.cloud import GLANCE_ACCESS_LOG
from glance_api import capabilities
from glance_api.conf import settings as app_settings
from glance_api.schema import SchemaView

IMAGES = "/api/glance/images/"
NAMESPACES = "/api/glance/metadefs/namespaces/"


# --- 1. the schema: no copy kept per made-up version ---------------------------------


def test_schema_of_a_version_that_does_not_exist_is_404_and_kept_nowhere(anon_client):
    assert anon_client.get("/api/schema/").status_code == 200
    kept = len(SchemaView._schemas)
    for n in range(5):
        response = anon_client.get(f"/api/schema/?version=made-up-{n}")
        assert response.status_code == 404
        assert b"made-up-" in response.content and b"no versions" in response.content
    assert len(SchemaView._schemas) == kept


# --- 3 and 4. upload grants: nothing written for a guess, no token in the cache -------


def _cache_keys() -> int:
    cache = caches[app_settings.CACHE_ALIAS]
    return len(cache._cache)  # LocMemCache, the tests' cache


def test_redeeming_an_unknown_secret_writes_nothing(anon_client):
    before = _cache_keys()
    for _ in range(20):
        response = anon_client.put(f"/api/glance/uploads/{secrets.token_urlsafe(32)}/",
                                   data=b"x", content_type="application/octet-stream")
        assert response.status_code == 404
    assert _cache_keys() == before


def test_a_grant_is_redeemed_once_and_its_token_is_sealed_in_the_cache():
    token = "gAAAA-a-keystone-token-" + secrets.token_hex(16)
    secret = capabilities.issue(token, "user-1", "image-1")
    held = caches[app_settings.CACHE_ALIAS].get(capabilities._key(secret))
    assert token not in repr(held) and set(held) == {"sealed_token", "user_id", "image_id"}
    assert capabilities.redeem(secret) == {"token": token, "user_id": "user-1",
                                           "image_id": "image-1"}
    assert capabilities.redeem(secret) is None


def test_a_grant_does_not_open_with_another_secret():
    secret = capabilities.issue("a-token", "user-1", "image-1")
    other = secrets.token_urlsafe(32)
    cache = caches[app_settings.CACHE_ALIAS]
    cache.set(capabilities._key(other), cache.get(capabilities._key(secret)), 60)
    assert capabilities.redeem(other) is None


# --- 6. "." and ".." are no path segment ----------------------------------------------


def _glance_saw(fragment: str) -> bool:
    return fragment in GLANCE_ACCESS_LOG.read_text(errors="replace")


@pytest.mark.parametrize("dots", ["%2E", "%2E%2E", ".%2E"])
def test_a_tag_of_dots_is_400_and_reaches_glance_as_nothing(admin_client, glance_admin,
                                                            make_image, dots):
    image = make_image(name="dotted", tags=["keep"])
    for method in ("put", "delete"):
        response = getattr(admin_client, method)(f"{IMAGES}{image['id']}/tags/{dots}/")
        assert response.status_code == 400, response.content
        assert "tag" in response.json()
    assert not _glance_saw(f"PUT /v2/images/{image['id']}/ ")
    assert not _glance_saw(f"DELETE /v2/images/{image['id']}/ ")
    assert glance_admin.images.get(image["id"])["tags"] == ["keep"]


@pytest.mark.parametrize("dots", ["%2E", "%2E%2E"])
def test_a_member_or_namespace_of_dots_is_400(admin_client, make_image, dots):
    image = make_image(name="dotted")
    response = admin_client.get(f"{IMAGES}{image['id']}/members/{dots}/")
    assert response.status_code == 400 and "member_id" in response.json()
    response = admin_client.get(f"{NAMESPACES}{dots}/")
    assert response.status_code == 400 and "namespace" in response.json()

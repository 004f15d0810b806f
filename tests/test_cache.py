"""The app on memcached, as inside a deployed Horizon (Debian's memcached, pymemcache):
every key valid for memcached, a value over its 1 MiB item size not cached but served,
and memcached down is no error (glance_api.cache.app_cache)."""

import logging
import uuid

import pytest
from django.core.cache import caches

from devcloud import cloud
from devcloud import memcached as memcached_server
from glance_api import cache as app_cache_module
from glance_api import keystone
from glance_api.services import caching
from tests.helpers import IMAGES, direct_create

NAMESPACES = "/api/glance/metadefs/namespaces/"


@pytest.fixture(scope="module")
def memcached(clouds):
    memcached_server.start(cloud.log)
    yield memcached_server.LOCATION
    memcached_server.stop(cloud.log)


@pytest.fixture
def on_memcached(memcached, settings):
    """The app's cache (CACHE_ALIAS) is memcached, through Django's own backend, as
    Horizon's deployments configure it."""
    settings.CACHES = {
        **settings.CACHES,
        "memcached": {
            "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
            "LOCATION": memcached,
        },
    }
    settings.GLANCE_API = {**settings.GLANCE_API, "CACHE_ALIAS": "memcached"}
    keystone.local_validations.clear()
    yield
    keystone.local_validations.clear()


def test_every_key_the_app_writes_is_valid_for_memcached(
    on_memcached, demo_client, demo_token, glance_demo
):
    """Token validations, namespace lists, versions, upload grants: Django's memcached
    backend refuses a key memcached cannot take, which would be an error here."""
    assert demo_client.get(IMAGES).status_code == 200
    assert demo_client.get(NAMESPACES, {"resource_type": "OS::Glance::Image"}).status_code == 200
    assert demo_client.get("/api/glance/version/").status_code == 200
    created = demo_client.post(
        IMAGES,
        direct_create(f"memcached-{uuid.uuid4().hex[:6]}"),
        format="json",
    )
    assert created.status_code == 201, created.content
    try:
        secret = created.json()["upload_url"].rstrip("/").rsplit("/", 1)[1]
        put = demo_client.put(
            f"/api/glance/uploads/{secret}/",
            b"bytes on memcached",
            content_type="application/octet-stream",
        )
        assert put.status_code == 200, put.content
        again = demo_client.put(
            f"/api/glance/uploads/{secret}/", b"twice", content_type="application/octet-stream"
        )
        assert again.status_code == 404  # the grant was kept in memcached, and used once
    finally:
        glance_demo.images.delete(created.json()["id"])
    # the validation is in memcached
    assert caches["memcached"].get(keystone._cache_key(demo_token)) is not None


def test_a_value_over_memcacheds_item_size_is_served_not_cached(on_memcached, caplog, monkeypatch):
    monkeypatch.setitem(app_cache_module._last_warning, "at", float("-inf"))
    computed = []

    def compute():
        computed.append(1)
        return "x" * (2 * 1024 * 1024)

    key = ["test", uuid.uuid4().hex]
    with caplog.at_level(logging.WARNING, logger="glance_api.cache"):
        assert len(caching.cached(key, compute)) == 2 * 1024 * 1024
        assert len(caching.cached(key, compute)) == 2 * 1024 * 1024
    assert len(computed) == 2  # not cached: computed each time, never an error
    assert "too large" in caplog.text


def test_with_memcached_down_the_api_answers(on_memcached, demo_client):
    memcached_server.stop(cloud.log)
    try:
        assert demo_client.get(IMAGES).status_code == 200  # validated with Keystone
        assert demo_client.get(NAMESPACES).status_code == 200
    finally:
        memcached_server.start(cloud.log)
    assert demo_client.get(IMAGES).status_code == 200

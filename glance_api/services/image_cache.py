"""Glance's image cache (API 2.14; admin by Glance's default policy): what is cached and
queued, queueing an image, removing one, clearing the cache or the queue."""

from contextlib import contextmanager

from rest_framework import exceptions

from ..clients import GlanceClient
from ..exceptions import GlanceLacksFeature
from .discovery import require_version
from .paths import segment
from .rest import get_json, send_json

CLEAR_TARGETS = ("cache", "queue", "both")


@contextmanager
def _cache_api(glance: GlanceClient):
    """Where the API needs 2.14; Glance's 404 for a site with no image cache is a 501
    that says so (not a 404 that reads like a missing image)."""
    require_version(
        glance,
        "2.14",
        "2023.1 (Antelope)",
        "The image cache API",
        exact=True,
        missing="an image cache (Glance's image_cache_dir)",
    )
    try:
        yield
    except exceptions.NotFound as exc:
        if "not supported at this site" in str(exc.detail):
            raise GlanceLacksFeature(
                "This Glance has no image cache (its image_cache_dir is not set). "
                "Nothing was changed."
            ) from exc
        raise


def cache_state(glance: GlanceClient) -> dict:
    """``{"cached_images": [...], "queued_images": [ids]}``. Glance answers 404 where no
    image cache is configured."""
    with _cache_api(glance):
        return get_json(glance, "/v2/cache")


def queue_image(glance: GlanceClient, image_id: str) -> None:
    """Queue an active image for caching."""
    with _cache_api(glance):
        send_json(glance, "PUT", f"/v2/cache/{segment(image_id, 'image id')}")


def uncache_image(glance: GlanceClient, image_id: str) -> None:
    """Remove an image from the cache and from the queue."""
    with _cache_api(glance):
        send_json(glance, "DELETE", f"/v2/cache/{segment(image_id, 'image id')}")


def clear_cache(glance: GlanceClient, target: str = "both") -> None:
    """Clear the cache, the queue, or ``both``."""
    options = {} if target == "both" else {"x-image-cache-clear-target": target}
    with _cache_api(glance):
        send_json(glance, "DELETE", "/v2/cache", options=options)

"""Glance's image cache (API 2.14; admin by Glance's default policy): what is cached and
queued, queueing an image, removing one, clearing the cache or the queue."""

from ..clients import GlanceClient, get_json, send_json
from .discovery import require_version
from .paths import segment

CLEAR_TARGETS = ("cache", "queue", "both")


def _require_cache_api(glance: GlanceClient) -> None:
    """Where the API needs 2.14. Glance's 404 for a site with no image cache is a 501
    that says so, not a 404 that reads like a missing image (exceptions.GlanceHasNoCache)."""
    require_version(
        glance,
        "2.14",
        "2023.1 (Antelope)",
        "The image cache API",
        exact=True,
        missing="an image cache (Glance's image_cache_dir)",
    )


def cache_state(glance: GlanceClient) -> dict:
    """``{"cached_images": [...], "queued_images": [ids]}``. Glance answers 404 where no
    image cache is configured."""
    _require_cache_api(glance)
    return get_json(glance, "/v2/cache")


def queue_image(glance: GlanceClient, image_id: str) -> None:
    """Queue an active image for caching."""
    _require_cache_api(glance)
    send_json(glance, "PUT", f"/v2/cache/{segment(image_id, 'image id')}")


def uncache_image(glance: GlanceClient, image_id: str) -> None:
    """Remove an image from the cache and from the queue."""
    _require_cache_api(glance)
    send_json(glance, "DELETE", f"/v2/cache/{segment(image_id, 'image id')}")


def clear_cache(glance: GlanceClient, target: str = "both") -> None:
    """Clear the cache, the queue, or ``both``."""
    options = {} if target == "both" else {"x-image-cache-clear-target": target}
    _require_cache_api(glance)
    send_json(glance, "DELETE", "/v2/cache", options=options)

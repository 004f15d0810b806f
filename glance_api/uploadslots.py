"""How many uploads one user has running, across the instances that share the cache.

Each upload of image data (an image's file or stage, an upload URL, the multipart create)
holds a slot of its user's for as long as it runs. Beyond ``UPLOADS_PER_USER`` at a time,
an upload is refused with a 429 and ``Retry-After`` before its body is read: clients that
trickle valid uploads slowly can then hold that many of the app's threads per user, not
all of them. (nginx limits image data per client address as well.)

The count is kept in the app's cache (``incr``/``decr``, atomic in Redis, memcached and
the local-memory cache), and lives at most ``SLOT_SECONDS`` after its first upload, so a
process that died during an upload holds a slot no longer than that. If the cache fails,
uploads are not limited (it is logged).
"""

import contextlib
import hashlib

from rest_framework import exceptions

from .cache import app_cache
from .conf import settings

SLOT_SECONDS = 3600
RETRY_AFTER = 5


def _key(user_id: str) -> str:
    return "glance_api:uploads:" + hashlib.sha256(user_id.encode()).hexdigest()


@contextlib.contextmanager
def upload_slot(user_id: str):
    """Hold one of the user's upload slots while the block runs; a 429 if none is free."""
    limit = settings.UPLOADS_PER_USER
    if not limit:
        yield
        return
    cache, key = app_cache(), _key(user_id)
    cache.add(key, 0, SLOT_SECONDS)
    running = cache.incr(key)
    if running is not None and running > limit:
        cache.decr(key)
        raise exceptions.Throttled(
            wait=RETRY_AFTER,
            detail=(
                f"At most {limit} uploads at a time per user: try again in {RETRY_AFTER} seconds."
            ),
        )
    try:
        yield
    finally:
        if running is not None:
            cache.decr(key)

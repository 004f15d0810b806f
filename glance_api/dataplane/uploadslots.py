"""How many uploads one user has running, across the instances that share the cache.

Each upload of image data (an image's file or stage, an upload URL, the multipart create)
holds a slot of its user's for as long as it runs. Beyond ``UPLOADS_PER_USER`` at a time,
an upload is refused with a 429 and ``Retry-After`` before its body is read: clients that
trickle valid uploads slowly can then hold that many of the app's threads per user, not
all of them. (nginx limits image data per client address as well.)

The count is kept in the app's cache (``incr``/``decr``, atomic in Redis, memcached and
the local-memory cache), and lives at most ``SLOT_SECONDS`` after its first upload, so a
process that died during an upload holds a slot no longer than that. Each count has an
epoch of its own: an upload gives its slot back to the count it took it from, never to
one made after that count expired (which would let uploads that outlast ``SLOT_SECONDS``
push the new count below zero, one more upload each time). An upload that outlasts
``SLOT_SECONDS`` no longer counts against the limit. If the cache fails, uploads are not
limited (it is logged).
"""

import contextlib
import hashlib
import uuid

from rest_framework import exceptions

from ..cache import app_cache
from ..conf import settings

SLOT_SECONDS = 3600
EPOCH_GRACE_SECONDS = 60
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
    cache, user_key = app_cache(), _key(user_id)
    cache.add(f"{user_key}:epoch", uuid.uuid4().hex, SLOT_SECONDS)
    epoch = cache.get(f"{user_key}:epoch")
    key = f"{user_key}:{epoch}"
    # outlives its epoch's mark: a new epoch begins before this count can expire
    cache.add(key, 0, SLOT_SECONDS + EPOCH_GRACE_SECONDS)
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

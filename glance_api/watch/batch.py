"""Many watched images of one project in one Glance call a round.

Waits on different images of one project (their detail or their ``progress/``) would each
cost a GET of the image a round. Instead, one :class:`ImagesPoll` per Glance endpoint,
project and roles lists every image watched there with Glance's ``id=in:`` filter (a
hundred ids a call) and keeps each image's ETag. A wait's own poll then asks Glance for
its answer only when that ETag moved since its last answer (or, for ``progress/``, while
the image is under way: its task's progress shows nowhere in the image).

The ids watched are shared through Redis (a sorted set, each id kept three rounds past
the last instance that watches it), so the one instance that leads the project's round
lists the images every instance watches.
"""

import collections
import hashlib
import json
import time

from asgiref.sync import sync_to_async

from .. import services
from ..conf import settings
from ..dataplane.conditional import image_etag
from .hub import LEASE_ROUNDS, PREFIX, Poll, Value, hub

GONE = "gone"


class ImagesPoll(Poll):
    """A project's watched images, by id: each one's ETag (``GONE`` when not listed)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.local_ids: collections.Counter[str] = collections.Counter()

    @property
    def ids_key(self) -> str:
        return PREFIX + "ids:" + self.key

    def watch(self, image_id: str) -> None:
        self.local_ids[image_id] += 1

    def unwatch(self, image_id: str) -> None:
        self.local_ids[image_id] -= 1
        if self.local_ids[image_id] <= 0:
            del self.local_ids[image_id]

    async def after_round(self) -> None:
        """This process's ids, kept in the shared set three rounds more."""
        if self.local_ids:
            keep = settings.WATCH_POLL_SECONDS * LEASE_ROUNDS
            until = time.time() + keep
            await self.hub.call_or_none("zadd", self.ids_key, dict.fromkeys(self.local_ids, until))
            # the set goes when nobody watches (and Redis may evict it at its memory limit)
            await self.hub.call_or_none("expire", self.ids_key, int(keep) + 1)

    async def all_ids(self) -> list[str]:
        now = time.time()
        await self.hub.call_or_none("zremrangebyscore", self.ids_key, "-inf", now)
        shared = await self.hub.call_or_none("zrangebyscore", self.ids_key, now, "+inf")
        return sorted(set(self.local_ids) | {raw.decode() for raw in shared or []})


async def fetch(source, previous):
    poll = hub().polls.get(images_key(source.access_info))
    ids = await poll.all_ids() if isinstance(poll, ImagesPoll) else []
    found = await sync_to_async(_images, thread_sensitive=False)(source, ids)
    tags = {
        image_id: image_etag(found[image_id]) if image_id in found else GONE for image_id in ids
    }
    return Value(hashlib.sha256(json.dumps(tags, sort_keys=True).encode()).hexdigest(), tags)


def _images(source, ids: list[str]) -> dict:
    return services.images_by_id(services.client_for(source.access_info), ids) if ids else {}


def images_key(access_info) -> str:
    from ..clients import glance_endpoint

    endpoint = settings.GLANCE_URL or glance_endpoint(access_info)
    parts = [endpoint, access_info.project_id, sorted(access_info.role_names)]
    return "images:" + hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:40]


def images_poll(access_info) -> ImagesPoll:
    from .waits import check

    return hub().poll(images_key(access_info), fetch, check, kind=ImagesPoll)


def tag_of(access_info, image_id: str) -> str | None:
    """The image's ETag as the project's last round listed it; None when not yet listed."""
    poll = hub().polls.get(images_key(access_info))
    if not isinstance(poll, ImagesPoll) or poll.value is None:
        return None
    return poll.value.data.get(image_id)

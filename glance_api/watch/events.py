"""``images/events/``: a Server-Sent Events stream of the caller's images.

One poll per Glance endpoint, project and roles (a :class:`FeedPoll`) lists the images
the caller's list shows, with their progress documents, once a round; the instance that
leads the round compares them with the last round's and writes one event per image that
appeared, changed or went to the shared log (a Redis stream, trimmed to
``WATCH_REPLAY_SECONDS``; a list of this process's own without Redis). Every instance
reads that log once a round and sends each of its streams what is new, with the log's
ids as the events' ``id:``, so a client that comes back with ``Last-Event-ID`` (to any
instance) gets what it missed.
"""

import collections
import hashlib
import json
import re
import time

from asgiref.sync import sync_to_async

from .. import services
from ..conf import settings
from .hub import PREFIX, Poll, Value, hub
from .waits import Source, check

CURSOR = re.compile(r"(\d{1,15})-(\d{1,15})")
HEARTBEAT_SECONDS = 10  # a comment line at least this often (a proxy keeps the stream)
RETRY_MS = 3000  # what EventSource waits before it reconnects


class BadCursor(ValueError):
    pass


def cursor_of(text: str) -> tuple[int, int]:
    match = CURSOR.fullmatch(text.strip())
    if not match:
        raise BadCursor(text)
    return int(match.group(1)), int(match.group(2))


def event_text(cursor: str, data: str) -> str:
    return f"id: {cursor}\nevent: image\ndata: {data}\n\n"


def changes(previous: dict, current: dict) -> list[dict]:
    """The events between two rounds' documents: new or changed images, and deletions."""
    events = [doc for image_id, doc in current.items() if previous.get(image_id) != doc]
    events += [
        {"id": image_id, "deleted": True} for image_id in previous if image_id not in current
    ]
    return events


class FeedPoll(Poll):
    """A project's images and the log of their events, as this process knows them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.log: collections.deque[tuple[tuple[int, int], str, str]] = collections.deque()
        self.read_to: tuple[int, int] | None = None  # the newest cursor read from the log
        self._sequence = 0

    @property
    def stream_key(self) -> str:
        return PREFIX + "events:" + self.key

    async def start(self) -> None:
        """Where this process starts reading the shared log: now."""
        if self.read_to is not None:
            return
        newest = await self.hub.call_or_none("xrevrange", self.stream_key, count=1)
        self.read_to = cursor_of(newest[0][0].decode()) if newest else (0, 0)

    def head(self) -> tuple[int, int]:
        return self.log[-1][0] if self.log else (self.read_to or (0, 0))

    def after(self, cursor: tuple[int, int]) -> list[tuple[tuple[int, int], str, str]]:
        return [entry for entry in self.log if entry[0] > cursor]

    def _keep(self, cursor: tuple[int, int], text_id: str, data: str) -> None:
        self.log.append((cursor, text_id, data))
        self.read_to = max(self.read_to or (0, 0), cursor)
        oldest = (int((time.time() - settings.WATCH_REPLAY_SECONDS) * 1000), 0)
        while self.log and self.log[0][0] < oldest:
            self.log.popleft()

    async def write(self, events: list[dict]) -> None:
        """The leader's: each event into the shared log (or this process's own)."""
        if not events:
            return
        oldest = int((time.time() - settings.WATCH_REPLAY_SECONDS) * 1000)
        datas = [json.dumps(event, sort_keys=True) for event in events]
        written = await self.hub.append_all(
            self.stream_key, datas, oldest, settings.WATCH_REPLAY_SECONDS
        )
        if written is None:  # no Redis: this process's own ids
            for data in datas:
                now = int(time.time() * 1000)
                last = self.head()
                self._sequence = last[1] + 1 if now <= last[0] else 0
                cursor = (max(now, last[0]), self._sequence)
                self._keep(cursor, f"{cursor[0]}-{cursor[1]}", data)
            self._notify()

    async def after_round(self) -> None:
        await self.read_log()

    async def read_log(self) -> None:
        if self.read_to is None:
            return
        start = "({}-{}".format(*self.read_to)
        entries = await self.hub.call_or_none("xrange", self.stream_key, min=start, max="+")
        if entries:
            for entry_id, fields in entries:
                text_id = entry_id.decode()
                self._keep(cursor_of(text_id), text_id, fields[b"data"].decode())
            self._notify()

    async def replay(self, since: tuple[int, int]) -> list[str] | None:
        """What was sent after ``since``, or None when it is older than the log keeps."""
        if since[0] < (time.time() - settings.WATCH_REPLAY_SECONDS) * 1000:
            return None
        entries = await self.hub.call_or_none(
            "xrange", self.stream_key, min="({}-{}".format(*since), max="+"
        )
        if entries is None:  # no Redis: this process's log
            return [event_text(text_id, data) for _, text_id, data in self.after(since)]
        return [
            event_text(entry_id.decode(), fields[b"data"].decode()) for entry_id, fields in entries
        ]

    def keep_seconds(self) -> float:
        return max(super().keep_seconds(), settings.WATCH_REPLAY_SECONDS)


def feed_key(access_info) -> str:
    from ..clients import glance_endpoint

    endpoint = settings.GLANCE_URL or glance_endpoint(access_info)
    parts = [endpoint, access_info.project_id, sorted(access_info.role_names)]
    return "feed:" + hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:40]


def _documents(source: Source, previous: dict) -> dict:
    return services.project_progress(services.client_for(source.access_info), previous)


async def fetch(source: Source, previous: Value | None) -> Value:
    poll = hub().polls.get(feed_key(source.access_info))
    if previous is None:  # another instance's last round, if it is kept
        previous = await hub().shared_value(feed_key(source.access_info))
    before = previous.data if previous else None
    documents = await sync_to_async(_documents, thread_sensitive=False)(source, before or {})
    if before is not None and isinstance(poll, FeedPoll):
        await poll.write(changes(before, documents))
    tag = hashlib.sha256(json.dumps(documents, sort_keys=True).encode()).hexdigest()
    return Value(tag, documents)


def feed(access_info) -> FeedPoll:
    return hub().poll(feed_key(access_info), fetch, check, kind=FeedPoll)


async def stream(access_info, request, since: tuple[int, int] | None):
    """The text of the stream, until the token is refused or expires."""
    poll = feed(access_info)
    source = Source(request, access_info)
    poll.join(source)
    try:
        await poll.start()
        yield f"retry: {RETRY_MS}\n\n"
        cursor = poll.head()
        if since is not None:
            replayed = await poll.replay(since)
            if replayed is None:  # older than the log: where each image stands now
                value = await poll.current()
                for document in (value.data if value else {}).values():
                    yield event_text("{}-{}".format(*cursor), json.dumps(document, sort_keys=True))
            else:
                for text in replayed:
                    yield text
                if replayed:
                    cursor = cursor_of(replayed[-1].split("\n", 1)[0].removeprefix("id: "))
        sent_at = time.monotonic()
        while True:
            if source in poll.refused or source.expired():
                return
            fresh = poll.after(cursor)
            for entry_cursor, text_id, data in fresh:
                yield event_text(text_id, data)
                cursor = entry_cursor
            if fresh:
                sent_at = time.monotonic()
            elif time.monotonic() - sent_at >= HEARTBEAT_SECONDS:
                yield ": still here\n\n"
                sent_at = time.monotonic()
            # woken by new events, a refusal (a round's token check), the heartbeat's
            # time or the token's expiry
            heartbeat = HEARTBEAT_SECONDS - (time.monotonic() - sent_at)
            await poll.wait_changed(min(heartbeat, source.seconds_left()))
    finally:
        poll.leave(source)

"""Shared polling of Glance: one poller per thing watched, across every instance.

A :class:`Poll` is what this process watches for a key (a Glance endpoint, a project and
its roles, and a query): the waiters of this process that want it, and one task that
keeps its value current while anyone waits, and stops when nobody does.

With Redis (``WATCH_REDIS_URL``, or the Redis of ``CACHE_ALIAS``), the instances share
each key's polling: the one that holds the key's lease (``SET NX PX``, renewed each round)
asks Glance every ``WATCH_POLL_SECONDS`` and writes the value to Redis; the others read it
from there. A lease that is not renewed (its instance stopped) passes to another instance
within three rounds. Without Redis, or while it cannot be reached, each process polls for
itself (a warning says so once per half minute), so waiting goes on.

What is asked of Glance is the caller's own: the poll is made with the token of one of
this process's waiters (all of them in the key's project, with the key's roles).
"""

import asyncio
import contextvars
import json
import logging
import os
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from rest_framework.exceptions import APIException, AuthenticationFailed, NotAuthenticated

from ..conf import settings

logger = logging.getLogger(__name__)
PREFIX = "glance_api:watch:"
LEASE_ROUNDS = 3  # a lease outlives this many missed rounds
WARN_EVERY = 30


@dataclass
class Value:
    """What a poll found: ``tag`` says whether it changed (an ETag); ``data`` is it."""

    tag: str
    data: dict
    at: float = field(default_factory=time.time)

    def encode(self) -> str:
        return json.dumps({"tag": self.tag, "data": self.data, "at": self.at})

    @classmethod
    def decode(cls, raw) -> "Value | None":
        try:
            fields = json.loads(raw)
            return cls(fields["tag"], fields["data"], fields["at"])
        except (TypeError, ValueError, KeyError):
            return None


# fetch(source, previous) -> the new value, or None when nothing could be learnt this round
# (it raises Refused when Glance refused the source's token)
Fetch = Callable[[object, "Value | None"], Awaitable["Value | None"]]
# check(sources) -> those of them whose token is refused now (revoked, expired)
Check = Callable[[list], Awaitable[list]]


class Refused(Exception):
    """Glance (or Keystone) refused the token a poll was made with."""


class Poll:
    """One key watched by this process."""

    def __init__(self, hub: "Hub", key: str, fetch: Fetch, check: Check | None = None):
        self.hub, self.key, self.fetch, self.check = hub, key, fetch, check
        self.sources: dict[object, int] = {}  # what a poll may be made with (a waiter's)
        self.value: Value | None = None
        self.changed = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.polls = 0  # the Glance polls this process made for this key
        self.refused: set[object] = set()  # sources a poll found refused (a bad token)
        self._polling: asyncio.Future | None = None  # one poll at a time, for everyone

    # --- who waits -------------------------------------------------------------------

    def join(self, source) -> None:
        self.sources[source] = self.sources.get(source, 0) + 1
        if self.task is None or self.task.done():
            # in a context of its own: not the first waiter's request's (its log line)
            loop = asyncio.get_running_loop()
            self.task = loop.create_task(self._run(), context=contextvars.Context())

    def leave(self, source) -> None:
        left = self.sources.get(source, 0) - 1
        if left > 0:
            self.sources[source] = left
        else:
            self.sources.pop(source, None)
            self.refused.discard(source)
        if not self.sources:
            self.hub.polls.pop(self.key, None)
            if self.task is not None:
                self.task.cancel()

    def refuse(self, source) -> None:
        """A poll with ``source`` was refused (its token): not used again, its waiters told."""
        self.refused.add(source)
        self._notify()

    def _source(self):
        for source in self.sources:
            if source not in self.refused:
                return source
        return None

    async def wait_changed(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self.changed.wait(), timeout)
        except TimeoutError:
            pass

    def _notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    def publish(self, value: Value) -> None:
        if self.value is None or value.tag != self.value.tag:
            self.value = value
            self._notify()
        else:
            self.value = value  # as fresh as it is

    # --- getting the value -----------------------------------------------------------

    async def current(self) -> Value | None:
        """The value, at most a round old: this process's, the shared one, or a poll now."""
        fresh = settings.WATCH_POLL_SECONDS
        if self.value is not None and time.time() - self.value.at <= fresh:
            return self.value
        shared = await self.hub.shared_value(self.key)
        if shared is not None and time.time() - shared.at <= fresh:
            self.publish(shared)
            return self.value
        await self._poll()
        return self.value

    async def _poll(self) -> bool:
        """Asks Glance now; callers that come while a poll goes share its outcome."""
        if self._polling is not None:
            return await asyncio.shield(self._polling)
        loop = asyncio.get_running_loop()
        self._polling = loop.create_task(self._poll_once(), context=contextvars.Context())
        self._polling.add_done_callback(_read_outcome)
        try:
            return await asyncio.shield(self._polling)
        finally:
            self._polling = None

    async def _poll_once(self) -> bool:
        source = self._source()
        if source is None:
            return False
        self.polls += 1
        self.hub.glance_polls += 1
        try:
            value = await self.fetch(source, self.value)
        except (Refused, NotAuthenticated, AuthenticationFailed):  # the source's token
            self.refuse(source)
            return False
        if value is None:
            return False
        self.publish(value)
        await self.hub.share_value(self.key, value, self.keep_seconds())
        return True

    def keep_seconds(self) -> float:
        """How long the shared value outlives the last round (a new waiter reads it)."""
        return max(settings.WATCH_POLL_SECONDS * LEASE_ROUNDS, 60)

    async def after_round(self) -> None:
        """What a kind of poll does after each round (the event stream reads its log)."""

    async def _check_sources(self) -> None:
        """Each round: the waiters' tokens asked about (a revoked one is refused)."""
        sources = [source for source in self.sources if source not in self.refused]
        if self.check is not None and sources:
            for source in await self.check(sources):
                self.refuse(source)

    async def _step(self) -> None:
        """The round's value: asked of Glance by the leader, read from Redis by the rest."""
        if await self.hub.lead(self.key):
            fresh = self.value is not None and (
                time.time() - self.value.at < settings.WATCH_POLL_SECONDS / 2
            )
            if not fresh:  # (a waiter that just came asked already)
                await self._poll()
        else:
            shared = await self.hub.shared_value(self.key)
            if shared is not None:
                self.publish(shared)

    async def _run(self) -> None:
        interval = settings.WATCH_POLL_SECONDS
        try:
            while self.sources:
                started = time.monotonic()
                for step in (self._step, self._check_sources, self.after_round):
                    try:
                        await step()
                    except asyncio.CancelledError:
                        raise
                    except APIException as exc:  # Glance or Keystone could not answer
                        logger.info("A round of watching: %s; the next one tries again", exc)
                    except Exception:  # noqa: BLE001 - the next round tries again
                        logger.exception("A round of watching failed; the next one tries again")
                # a follower reads the shared value twice a round: it sees a change at
                # most half a round after the leader
                pause = interval if self.hub.leads(self.key) else interval / 2
                await asyncio.sleep(max(0.05, pause - (time.monotonic() - started)))
        finally:
            await self.hub.resign(self.key)


def _read_outcome(poll: asyncio.Task) -> None:
    """A poll whose callers all went (the last waiter left: its round was cancelled, the
    poll shielded from that) may still fail, Glance unreachable say: its exception is
    read here, or asyncio logs it with a traceback ("Task exception was never
    retrieved"). A caller still there gets it as ever; the next poll meets the failure
    again if it lasts."""
    if not poll.cancelled():
        poll.exception()


class Hub:
    """This process's polls (one event loop's), and its link to the shared Redis."""

    def __init__(self, redis_url: str | None):
        self.redis_url = redis_url
        self.polls: dict[str, Poll] = {}
        self.glance_polls = 0
        self._redis = None
        self._leading: set[str] = set()
        self._warned = 0.0
        # who holds a lease: this process (made here, after any fork of a preloading server)
        self.instance = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def poll(self, key: str, fetch: Fetch, check: Check | None = None, kind=Poll) -> Poll:
        poll = self.polls.get(key)
        if poll is None:
            poll = self.polls[key] = kind(self, key, fetch, check)
        return poll

    # --- Redis, when there is one -----------------------------------------------------

    @property
    def redis(self):
        if self._redis is None and self.redis_url:
            from redis import asyncio as redis_asyncio

            self._redis = redis_asyncio.Redis.from_url(
                self.redis_url, socket_connect_timeout=0.5, socket_timeout=2
            )
        return self._redis

    def _unreachable(self, exc: Exception) -> None:
        if time.monotonic() - self._warned > WARN_EVERY:
            self._warned = time.monotonic()
            logger.warning(
                "Redis cannot be reached (%s): this process polls Glance for its own waiters",
                type(exc).__name__,
            )

    async def _call(self, method: str, *args, **kwargs):
        """A Redis call, or None (and this process on its own) when Redis cannot answer."""
        if self.redis is None:
            raise LookupError("no Redis")
        from redis.exceptions import RedisError

        try:
            return await getattr(self.redis, method)(*args, **kwargs)
        except (RedisError, OSError) as exc:
            self._unreachable(exc)
            raise LookupError("Redis cannot answer") from exc

    def leads(self, key: str) -> bool:
        return self.redis is None or key in self._leading

    async def lead(self, key: str) -> bool:
        """Whether this process polls Glance for ``key`` this round (takes or renews the
        lease); always, without Redis."""
        lease_ms = int(settings.WATCH_POLL_SECONDS * 1000 * LEASE_ROUNDS)
        name = PREFIX + "lead:" + key
        try:
            if key in self._leading:
                renewed = await self._call("eval", _RENEW, 1, name, self.instance, lease_ms)
                if renewed:
                    return True
                self._leading.discard(key)
            if await self._call("set", name, self.instance, nx=True, px=lease_ms):
                self._leading.add(key)
                return True
            return False
        except LookupError:
            return True

    async def resign(self, key: str) -> None:
        if key in self._leading:
            self._leading.discard(key)
            try:
                await self._call("eval", _RELEASE, 1, PREFIX + "lead:" + key, self.instance)
            except LookupError:
                pass

    async def shared_value(self, key: str) -> Value | None:
        try:
            return Value.decode(await self._call("get", PREFIX + "value:" + key))
        except LookupError:
            return None

    async def share_value(self, key: str, value: Value, keep_seconds: float) -> None:
        try:
            await self._call(
                "set", PREFIX + "value:" + key, value.encode(), px=int(keep_seconds * 1000)
            )
        except LookupError:
            pass

    async def call_or_none(self, method: str, *args, **kwargs):
        """A Redis call's answer; None without Redis, or when it cannot answer."""
        try:
            return await self._call(method, *args, **kwargs)
        except LookupError:
            return None

    async def append_all(self, stream: str, datas: list[str], oldest_ms: int, keep: float):
        """Each of ``datas`` onto a Redis stream (entries older than ``oldest_ms``
        trimmed; the stream expires ``keep`` seconds after its last entry); None without
        Redis."""
        if self.redis is None:
            return None
        from redis.exceptions import RedisError

        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for data in datas:
                    pipe.xadd(stream, {"data": data}, minid=oldest_ms, approximate=True)
                pipe.expire(stream, int(keep) + 1)
                return await pipe.execute()
        except (RedisError, OSError) as exc:
            self._unreachable(exc)
            return None


# the lease is renewed, or given back, only by its holder
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""

_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """This event loop's hub (asyncio objects belong to one loop; a server has one)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub(redis_url())
    return found


def redis_url() -> str | None:
    """``WATCH_REDIS_URL``, else the Redis of the app's cache (the stack's), else None."""
    if settings.WATCH_REDIS_URL:
        return settings.WATCH_REDIS_URL
    from django.conf import settings as django_settings

    cache = django_settings.CACHES.get(settings.CACHE_ALIAS, {})
    if "redis" in cache.get("BACKEND", "").lower():
        location = cache.get("LOCATION")
        location = location[0] if isinstance(location, list | tuple) else location
        if isinstance(location, str):
            return location.split(",")[0]
    return None

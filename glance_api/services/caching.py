"""What changes as rarely as metadata definitions, kept in the shared cache per Glance
endpoint (and caller scope where Glance's answer depends on it), refreshed in the
background: namespace lists, resource types, Glance's versions."""

import contextvars
import hashlib
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.core.cache import caches
from rest_framework.exceptions import APIException

from .. import requestlog
from ..cache import TolerantCache, app_cache
from ..conf import settings
from ..exceptions import (
    RETRY_AFTER_SECONDS,
    UPSTREAM_EXCEPTIONS,
    BadGateway,
    GatewayTimeout,
    ServiceUnavailable,
)

logger = logging.getLogger(__name__)

_lock = threading.Lock()


# What is kept, under which key prefix, for how long (the setting that says), and
# whether it is served past its life while Glance cannot answer (METADEFS_STALE_SECONDS).
KINDS = {
    # namespace lists and resource types, per endpoint and caller scope
    "metadefs": ("glance_api:metadefs:v2", "METADEFS_CACHE_SECONDS", True),
    # Glance's versions document, per endpoint: it gates every require_version
    "versions": ("glance_api:versions:v1", "VERSIONS_CACHE_SECONDS", True),
    # the names a search by part of a name read (services/search.py): seconds old at most
    "search": ("glance_api:search:v1", "SEARCH_CACHE_SECONDS", False),
}


def cached(key_parts: list, compute, *, kind: str = "metadefs"):
    """``compute()``, kept in the shared cache for as long as ``kind``'s setting says
    (:data:`KINDS`): for what changes as rarely as metadata definitions or Glance's
    versions. ``key_parts`` say what the value depends on: the Glance endpoint, and the
    caller's scope where Glance's answer depends on it.

    A request that finds the entry past half its life still gets it at once, and
    refreshes it in the background (one process at a time), so a value asked for at
    least once per half-life is never computed while someone waits. A missing entry is
    computed once however many ask for it at once (:func:`_fill`).

    Where Glance cannot answer (unreachable, timing out, failing), an entry past its
    life is served for ``METADEFS_STALE_SECONDS`` more (stale-if-error), and Glance is
    not asked again for it before ``RETRY_AFTER_SECONDS``: a request that needs nothing
    else of Glance is answered while Glance restarts.
    """
    prefix, setting, served_stale = KINDS[kind]
    seconds = getattr(settings, setting)
    if not seconds:
        return compute()
    # how long the cache keeps the entry: its life, and where it may be served stale, that
    keep = seconds + (settings.METADEFS_STALE_SECONDS if served_stale else 0)
    digest = hashlib.sha256(json.dumps(key_parts, sort_keys=True).encode()).hexdigest()
    key = f"{prefix}:{digest}"
    cache = app_cache()
    entry = cache.get(key)
    age = time.time() - entry[0] if entry is not None else None
    if entry is None or age >= seconds:
        try:
            entry = _fill(cache, key, compute, keep, stale=entry)
        except GLANCE_FAILURES:
            if entry is None:
                raise
            logger.warning(
                "Glance could not refresh a %s cache entry: serving it %d s past its life",
                kind,
                age - seconds,
            )
            return entry[1]
    elif age > seconds / 2:
        _refresh_in_background(key, compute, keep)
    return entry[1]


# What Glance failing to answer raises (the stale entry is served instead).
GLANCE_FAILURES = (ServiceUnavailable, GatewayTimeout, BadGateway, *UPSTREAM_EXCEPTIONS)

# How long a caller waits for another's fill of the same entry (then fills it itself).
FILL_WAIT_SECONDS = 10
_FILL_POLL_SECONDS = 0.05
# The filler's lock is a lease of this many seconds, which it renews while it computes:
# a filler that dies (a worker killed mid-fill) lets go of it within this time, and
# its waiters fill the entry themselves instead of waiting FILL_WAIT_SECONDS for it.
FILL_LEASE_SECONDS = 2
_RENEW_EVERY_SECONDS = 0.5


def _store(cache, key: str, value, keep: float) -> tuple[float, object]:
    """``value``, with the time it was made, kept ``keep`` seconds."""
    entry = (time.time(), value)
    cache.set(key, entry, keep)
    return entry


def _fill(cache, key: str, compute, keep: float, stale=None) -> tuple[float, object]:
    """A missing (or stale) entry, computed once however many callers miss it at once, in
    this process or another sharing the cache: the first takes ``<key>:filling`` (the
    cache's atomic add) and computes; the others get the stale entry if there is one, or
    else wait for the new one, at most FILL_WAIT_SECONDS (or until the filler gives up,
    or dies: its lock is a lease it renews while it computes), then compute it
    themselves. Where the cache fails, each caller computes, as without a
    cache. Where Glance failed to compute it less than RETRY_AFTER_SECONDS ago
    (``<key>:failed``), the stale entry is served without asking Glance."""
    lock, failed = f"{key}:filling", f"{key}:failed"
    if stale is not None and cache.get(failed) is not None:
        return stale
    if not cache.add(lock, True, FILL_LEASE_SECONDS):
        if stale is not None:
            return stale
        # someone fills it: wait for that. The lock is read before the entry: the filler
        # stores the entry before it lets go of the lock, so a lock gone and no entry
        # after it means the filler gave up (Glance failed it), not that it just finished.
        deadline = time.monotonic() + FILL_WAIT_SECONDS
        while True:
            filling = cache.get(lock) is not None
            entry = cache.get(key)
            if entry is not None:
                return entry
            if not filling or time.monotonic() >= deadline:
                break
            time.sleep(_FILL_POLL_SECONDS)
        return _store(cache, key, compute(), keep)
    computing = threading.Event()
    renewing = threading.Thread(
        target=_renew, args=(lock, computing), name="glance-api-fill-lease", daemon=True
    )
    renewing.start()
    try:
        return _store(cache, key, compute(), keep)
    except GLANCE_FAILURES:
        cache.set(failed, True, RETRY_AFTER_SECONDS)
        raise
    finally:
        computing.set()
        renewing.join()
        cache.delete(lock)


def _renew(lock: str, done: threading.Event) -> None:
    """Renew a fill's lease in the app's cache until the fill is ``done`` (at most
    FILL_WAIT_SECONDS: its waiters fill the entry themselves after that anyway), with a
    connection of this thread's own (:func:`_own_cache`)."""
    deadline = time.monotonic() + FILL_WAIT_SECONDS

    def renew(cache) -> None:
        while not done.wait(_RENEW_EVERY_SECONDS) and time.monotonic() < deadline:
            cache.touch(lock, FILL_LEASE_SECONDS)

    _own_cache(renew)


def _refresh_in_background(key: str, compute, keep: float) -> None:
    """Recompute a cache entry in a thread of its own, unless a process already is.

    The thread carries the request's id to Glance (in a request context of its own, so
    the request's log line does not count its calls). If Glance fails, the entry stays
    as it is, and no other refresh is tried for ``RETRY_AFTER_SECONDS``.
    """
    cache = app_cache()
    if not cache.add(f"{key}:refreshing", True, settings.TIMEOUT):
        return
    request_id = requestlog.request_id() or requestlog.new_request_id()

    def refresh():
        requestlog.current.set(requestlog.RequestContext(request_id=request_id))
        try:
            value = compute()
        except Exception as exc:  # logged; the old entry serves, another refresh is tried
            # Glance failing, or refusing the token (as it does while Keystone restarts),
            # is an answer the app translated (a line); only the app's own bug is a
            # traceback
            logger.warning(
                "Could not refresh a metadefs cache entry: %s",
                exc,
                exc_info=not isinstance(exc, (*GLANCE_FAILURES, APIException)),
            )
            _own_cache(lambda own: own.set(f"{key}:refreshing", True, RETRY_AFTER_SECONDS))
            return

        def store(own):
            _store(own, key, value, keep)
            own.delete(f"{key}:refreshing")

        _own_cache(store)

    _refresher().submit(contextvars.copy_context().run, refresh)


def _own_cache(use) -> None:
    """``use(cache)`` with a connection of this thread's own: the request's (which the
    copied context would give too) is not thread-safe with every backend (pymemcache's is
    not), and Django closes it when the request ends, maybe while this thread uses it."""
    connection = caches.create_connection(settings.CACHE_ALIAS)
    try:
        use(TolerantCache(connection))
    finally:
        connection.close()


_refresher_instance: ThreadPoolExecutor | None = None


def _refresher() -> ThreadPoolExecutor:
    """The process's threads for background refreshes (apart from the fetching pool,
    which a refresh itself uses)."""
    global _refresher_instance
    with _lock:
        if _refresher_instance is None:
            _refresher_instance = ThreadPoolExecutor(
                max_workers=2, thread_name_prefix="glance-api-refresh"
            )
    return _refresher_instance

"""The app's cache, which a cache server's failure does not turn into errors.

:func:`app_cache` is how the app uses its cache (``CACHE_ALIAS``), whatever the backend
is: a host project's, such as Horizon's memcached (``PyMemcacheCache``), included. A
failure of the cache server is a miss or a dropped write, logged (once per
``WARN_EVERY`` seconds), never the request's failure: memcached down, or a value over
its item size (1 MiB by default: a namespace list of a cloud with many large custom
namespaces can be larger), which is then not cached and computed again each time.

:class:`RedisCache`, for several instances sharing Redis:

Django's own Redis backend raises when Redis is unreachable, so every request would fail
while the token validations, namespace lists, upload URLs and sessions it holds are only
there to save work. :class:`RedisCache` is Django's, where a read then misses, a write is
dropped and a warning is logged (once per ``WARN_EVERY`` seconds): the API answers,
validating tokens with Keystone again, and uses Redis again as soon as it is back. What
lives only in Redis is unavailable meanwhile (sessions sign out, upload URLs are unknown).

``CACHES = {"default": {"BACKEND": "glance_api.cache.RedisCache", "LOCATION":
"redis://127.0.0.1:6379/0"}}``; connecting and each command time out after 0.5 s unless
``OPTIONS`` say otherwise.
"""

import functools
import logging
import time

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

from .conf import settings

logger = logging.getLogger(__name__)

WARN_EVERY = 30
_last_warning = {"at": -WARN_EVERY}


def _warn(action: str, exc: Exception) -> None:
    now = time.monotonic()
    if now - _last_warning["at"] >= WARN_EVERY:
        _last_warning["at"] = now
        logger.warning(
            "The cache failed to %s (%s: %s): going on without it", action, type(exc).__name__, exc
        )


class TolerantCache:
    """The methods of a Django cache the app uses, each of which a failure of the cache
    server turns into a miss (``get``, ``add``) or a dropped write (``set``, ``delete``)."""

    def __init__(self, cache):
        self._cache = cache

    def get(self, key: str, default=None):
        return self._call("read", default, "get", key, default)

    def get_many(self, keys: list[str]) -> dict:
        return self._call("read", {}, "get_many", keys)

    def add(self, key: str, value, timeout) -> bool:
        return self._call("write", False, "add", key, value, timeout)

    def set(self, key: str, value, timeout) -> None:
        self._call("write", None, "set", key, value, timeout)

    def incr(self, key: str, delta: int = 1) -> int | None:
        """Add ``delta`` to a number the cache holds (atomically in Redis, memcached and
        the local-memory cache); None if the cache failed, or the number is gone."""
        try:
            return self._cache.incr(key, delta)
        except ValueError:  # expired since it was read
            return None
        except Exception as exc:  # the cache server's failure, not the request's
            _warn("write", exc)
            return None

    def decr(self, key: str) -> int | None:
        return self.incr(key, -1)

    def touch(self, key: str, timeout) -> bool:
        return self._call("write", False, "touch", key, timeout)

    def delete(self, key: str) -> bool:
        return self._call("delete", False, "delete", key)

    def _call(self, action: str, failed, method: str, *args):
        try:
            return getattr(self._cache, method)(*args)
        except Exception as exc:  # the cache server's failure, not the request's
            _warn(action, exc)
            return failed


def app_cache() -> TolerantCache:
    """The app's cache (``CACHE_ALIAS``; Django's connection for this thread)."""
    return TolerantCache(caches[settings.CACHE_ALIAS])


TIMEOUTS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}


def _tolerant(method, missing):
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        import redis

        try:
            return method(self, *args, **kwargs)
        except (redis.RedisError, OSError) as exc:
            self._unreachable(exc)
            return missing(*args, **kwargs) if callable(missing) else missing

    return call


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        params = {**params, "OPTIONS": {**TIMEOUTS, **params.get("OPTIONS", {})}}
        super().__init__(server, params)
        self._warned = 0.0

    def _unreachable(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned >= WARN_EVERY:
            self._warned = now
            logger.warning(
                "Redis is unreachable (%s): working without the shared cache", type(exc).__name__
            )

    get = _tolerant(DjangoRedisCache.get, lambda key, default=None, version=None: default)
    get_many = _tolerant(DjangoRedisCache.get_many, {})
    has_key = _tolerant(DjangoRedisCache.has_key, False)
    add = _tolerant(DjangoRedisCache.add, False)
    set = _tolerant(DjangoRedisCache.set, None)
    set_many = _tolerant(DjangoRedisCache.set_many, lambda data, *a, **k: list(data))
    touch = _tolerant(DjangoRedisCache.touch, False)
    delete = _tolerant(DjangoRedisCache.delete, False)
    delete_many = _tolerant(DjangoRedisCache.delete_many, None)
    clear = _tolerant(DjangoRedisCache.clear, None)

"""A shared cache that a Redis server going down does not turn into errors.

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

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

logger = logging.getLogger(__name__)

WARN_EVERY = 30
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
            logger.warning("Redis is unreachable (%s): working without the shared cache",
                           type(exc).__name__)

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

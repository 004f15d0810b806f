"""What a load balancer asks: is the process up (``healthz/``), and can it serve
(``readyz/``: Keystone, Glance and the cache reachable)."""

import uuid

from django.core.cache import caches

from . import clients
from .conf import settings

PROBE_TIMEOUT = 3  # seconds per upstream check, well under a load balancer's interval


def _reachable(url: str) -> str | None:
    """None if the URL answers below 500, else what went wrong."""
    try:
        answer = clients.shared_session().get(url, authenticated=False, raise_exc=False,
                                              timeout=PROBE_TIMEOUT)
    except Exception as exc:  # any failure to connect is what this reports
        return f"unreachable ({type(exc).__name__})"
    return None if answer.status_code < 500 else f"answered {answer.status_code}"


def _cache() -> str | None:
    key, value = "glance_api:readyz", uuid.uuid4().hex
    try:
        cache = caches[settings.CACHE_ALIAS]
        cache.set(key, value, 30)
        return None if cache.get(key) == value else "does not keep what it is given"
    except Exception as exc:  # a cache server that is down raises its client's errors
        return f"unreachable ({type(exc).__name__})"


def readiness() -> dict[str, str]:
    """Each dependency's state: ``ok``, or what is wrong with it.

    Glance is checked at ``GLANCE_URL``, or else at the endpoints this process has used
    (the catalog needs a token); before the first call none is known.
    """
    states = {"cache": _cache(), "keystone": _reachable(settings.KEYSTONE_URL)}
    endpoints = [settings.GLANCE_URL] if settings.GLANCE_URL else sorted(clients.seen_endpoints)
    for endpoint in endpoints:
        states[f"glance {endpoint}"] = _reachable(endpoint.rstrip("/") + "/versions")
    return {name: problem or "ok" for name, problem in states.items()}

"""What a load balancer asks: is the process up (``healthz/``), and can it serve
(``readyz/``: Keystone, Glance and the cache reachable).

``readyz/`` needs no token, so what it gives away and what it costs are bounded: its
answer names each part (``cache``, ``keystone``, ``glance``), never a URL (a failing
endpoint's URL goes to the log), and a process probes at most once per
``READINESS_SECONDS`` (5): callers in between, and callers while a probe runs, get the
last result.
"""

import logging
import threading
import time
import uuid

from django.core.cache import caches
from django.core.signals import setting_changed
from django.dispatch import receiver

from . import clients
from .conf import settings

PROBE_TIMEOUT = 3  # seconds per upstream check, well under a load balancer's interval
READINESS_SECONDS = 5

logger = logging.getLogger(__name__)
_probing = threading.Lock()
_last: dict = {"at": None, "states": None}


def _reachable(url: str) -> str | None:
    """None if the URL answers below 500, else what went wrong."""
    try:
        answer = clients.shared_session().get(
            url, authenticated=False, raise_exc=False, timeout=PROBE_TIMEOUT
        )
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


@receiver(setting_changed)
def _forget(**kwargs) -> None:
    """Settings that change (in tests) are probed anew."""
    _last["at"] = None


def readiness() -> dict[str, str]:
    """Each part's state: ``ok``, or what is wrong with it; probed at most once per
    :data:`READINESS_SECONDS` in this process."""
    with _probing:  # one probe at a time; those who waited get its result
        now = time.monotonic()
        if _last["at"] is None or now - _last["at"] >= READINESS_SECONDS:
            _last["states"], _last["at"] = _probe(), time.monotonic()
        return dict(_last["states"])


def _probe() -> dict[str, str]:
    """Glance is checked at ``GLANCE_URL``, or else at the endpoints this process has used
    (the catalog needs a token); before the first call none is known. Several endpoints
    are one part, ``glance``: the first problem is given, with how many failed."""
    states = {"cache": _cache(), "keystone": _reachable(settings.KEYSTONE_URL)}
    if states["keystone"]:
        logger.warning("readyz: Keystone at %s is %s", settings.KEYSTONE_URL, states["keystone"])
    endpoints = [settings.GLANCE_URL] if settings.GLANCE_URL else sorted(clients.seen_endpoints)
    problems = []
    for endpoint in endpoints:
        problem = _reachable(endpoint.rstrip("/") + "/versions")
        if problem:
            logger.warning("readyz: Glance at %s is %s", endpoint, problem)
            problems.append(problem)
    if endpoints:
        states["glance"] = (
            f"{problems[0]} ({len(problems)} of {len(endpoints)} endpoints)" if problems else None
        )
    return {name: problem or "ok" for name, problem in states.items()}

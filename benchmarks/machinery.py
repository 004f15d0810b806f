"""What the app's own machinery costs per request, piece by piece, and which cache keys a
request reads and writes (issue 34).

    python -m benchmarks.machinery [--requests 200] [--rounds 5] [--cache file|redis]

In-process (Django's test client, the bench account's token, the settings ``make bench``'s
servers have: no debug, no request log, the cache as asked: a file cache as ``make bench``
has, or the stack's Redis). For image get, image properties and a paginated list of 20:

- the cache's reads and writes per request, by key kind (``glance_api:token``, ...), and
  the calls to Glance and Keystone;
- the app's CPU per request (``time.process_time``: Glance and Keystone run in processes
  of their own, so this is the app's own work, the test client's included) with
  everything on, then with one piece of per-request machinery turned off at a time. The
  variants take turns in rounds, so noise hits each alike; each figure is the median
  over the rounds. For these, Glance's answers are replayed (:func:`glance_replayed`):
  each call is made once to Glance, then answered from what it said, so that no wait
  spreads the figures (on this kind of machine a wait for Glance varies the CPU time of
  the code after it by more than any one piece costs).

Turning a piece off is done by replacing it here, for the measurement only; nothing of
the app changes. What a piece costs is its variant's saving against everything on.

Also the app's own wall time per request, as its request log tells it (the duration less
the time of the calls to Glance): on a machine whose processor caches are cold after
every wait for Glance, code costs more there than its CPU time warm.
"""

import argparse
import contextlib
import os
import statistics
import sys
import time
import uuid
from collections import Counter

from devcloud import accounts, cloud
from devcloud import config as devcloud

from .common import IN_PROCESS_SETTINGS, cache_settings, direct_glance, keystone_session

PATHS = {
    "image get": "/api/glance/images/{id}/",
    "image properties": "/api/glance/images/{id}/properties/",
    "list, paginate=true (20)": "/api/glance/images/?paginate=true&limit=20",
}


def _settings(cache: str) -> dict:
    return {
        **IN_PROCESS_SETTINGS,
        "DJANGO_SECRET_KEY": "machinery-only-not-a-secret",
        **cache_settings(cache, devcloud.HOME / "machinery-cache"),
    }


class CacheCounter:
    """Counts the calls to a Django cache, per operation and key kind (the key without its
    hash: ``glance_api:token``, ``glance_api:forgotten``, ...)."""

    OPERATIONS = ("get", "get_many", "set", "add", "delete", "incr", "decr", "touch")

    def __init__(self, cache):
        self.counts: Counter = Counter()
        for name in self.OPERATIONS:
            original = getattr(cache, name)
            setattr(cache, name, self._counting(name, original))

    def _counting(self, name, original):
        def counted(key, *args, **kwargs):
            keys = key if name == "get_many" else [key]
            for each in keys:
                kind = ":".join(str(each).split(":")[:2])
                self.counts[f"{name} {kind}"] += 1
            return original(key, *args, **kwargs)

        return counted


def _variants():
    """Each piece of per-request machinery, and how to turn it off here."""
    import logging

    from glance_api import draining, keystone, requestlog
    from glance_api.dataplane import conditional
    from glance_api.views import base

    @contextlib.contextmanager
    def replaced(owner, name, value):
        saved = getattr(owner, name)
        setattr(owner, name, value)
        try:
            yield
        finally:
            setattr(owner, name, saved)

    @contextlib.contextmanager
    def nothing():
        yield

    def local_only():
        # the revocation mark is read from the shared cache on every request: without it,
        # a local validation is taken as it is
        cache, _ = original_shared()
        return cache, False

    original_shared = keystone._shared_cache
    return {
        "everything on": nothing,
        "no drain": lambda: replaced(draining, "drain", lambda request: 0),
        "no ETag": lambda: replaced(conditional, "image_etag", lambda image: '"x"'),
        "no revocation-mark read": lambda: replaced(keystone, "_shared_cache", local_only),
        "no never-cache headers": lambda: replaced(
            base, "add_private_headers", lambda response: None
        ),
        "no Vary": lambda: replaced(base, "patch_vary_headers", lambda response, names: None),
        # what production adds to make bench's settings: the JSON request log, written
        "request log ON": lambda: replaced(requestlog.logger, "level", logging.INFO),
    }


@contextlib.contextmanager
def glance_replayed():
    """The app's keystoneauth session (its transport) answers each call as Glance
    answered it the first time: the app's code, glanceclient's layer included, runs as
    usual; only the wait and the bytes on the wire are left out."""
    import copy

    from glance_api.clients import session as transport

    original, answers = transport._Session.request, {}

    def request(self, url, method, **kwargs):
        key = (method, url, kwargs.get("endpoint_override"))
        if key not in answers:
            answers[key] = original(self, url, method, **kwargs)
        answer = copy.copy(answers[key])
        answer.headers = copy.copy(answer.headers)
        return answer

    transport._Session.request = request
    try:
        yield
    finally:
        transport._Session.request = original


def measure(client, url: str, count: int) -> float:
    """The app's CPU per request (ms), over ``count`` requests."""
    start = time.process_time()
    for _ in range(count):
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{response.status_code} for {url}: {response.content[:300]!r}")
    return (time.process_time() - start) / count * 1000


def own_wall_ms(client, url: str, count: int) -> float:
    """The median over ``count`` requests of the request log's duration less its Glance
    time (the request log written to a list here)."""
    import json
    import logging

    from glance_api import requestlog

    lines = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(json.loads(record.getMessage()))

    logger = requestlog.logger
    handler, saved = Keep(), (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # to the list only
    try:
        measure(client, url, count)
    finally:
        logger.removeHandler(handler)
        logger.level, logger.propagate = saved
    return statistics.median(line["duration_ms"] - line["glance_ms"] for line in lines)


def run(image_id: str, token: str, count: int, rounds: int) -> dict:
    import django

    django.setup()
    from django.core.cache import caches
    from django.test import Client

    from glance_api import requestlog
    from glance_api.conf import settings

    client = Client(HTTP_X_AUTH_TOKEN=token)
    counter = CacheCounter(caches[settings.CACHE_ALIAS])
    results = {}
    for figure, template in PATHS.items():
        url = template.format(id=image_id)
        for _ in range(5):  # warm: the token validated, the schema fetched
            client.get(url)
        counter.counts.clear()
        upstream = Counter()
        saved = requestlog.count_glance_call, requestlog.count_keystone_call
        requestlog.count_glance_call = lambda seconds, seen=upstream: seen.update(["Glance"])
        requestlog.count_keystone_call = lambda seen=upstream: seen.update(["Keystone"])
        try:
            measure(client, url, 20)
        finally:
            requestlog.count_glance_call, requestlog.count_keystone_call = saved
        per_request = {k: v / 20 for k, v in sorted((counter.counts + upstream).items())}
        own_wall = own_wall_ms(client, url, count)
        samples = {name: [] for name in _variants()}
        with glance_replayed():
            for _ in range(rounds):
                for name, turned_off in _variants().items():
                    with turned_off():
                        samples[name].append(measure(client, url, count))
        cpu = {name: statistics.median(values) for name, values in samples.items()}
        results[figure] = {"cache_per_request": per_request, "cpu_ms": cpu, "own_wall_ms": own_wall}
    return results


def report(results: dict, cache: str) -> None:
    print(
        f"cache: {cache}; the app's CPU per request (ms, median over the rounds; Glance's "
        "answers replayed)"
    )
    for figure, result in results.items():
        print(f"\n{figure}")
        print(
            "  cache calls per request: "
            + (", ".join(f"{k} {v:g}" for k, v in result["cache_per_request"].items()) or "none")
        )
        print(
            f"  the app's own wall time per request (request log: duration less Glance): "
            f"{result['own_wall_ms']:.2f} ms"
        )
        everything = result["cpu_ms"]["everything on"]
        for name, value in result["cpu_ms"].items():
            saving = everything - value
            print(
                f"  {name:28} {value:6.2f} ms"
                + (
                    ""
                    if name == "everything on"
                    else f"   saves {saving:+.2f} ms ({saving / everything:+.0%})"
                )
            )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="per variant and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cache", choices=("file", "redis"), default="file")
    args = parser.parse_args(argv)
    cloud.up()
    accounts.register()
    session = keystone_session(devcloud.BENCH)
    glance, token = direct_glance(session), session.get_token()
    image = glance.images.create(
        name=f"machinery-{uuid.uuid4().hex[:8]}",
        disk_format="raw",
        container_format="bare",
        os_distro="debian",
    )
    saved = dict(os.environ)
    os.environ.update(_settings(args.cache))
    try:
        results = run(image["id"], token, args.requests, args.rounds)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        glance.images.delete(image["id"])
    report(results, args.cache)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])

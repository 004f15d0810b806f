"""Single-flight cache fills (issue 26): when the cache is cold, one caller fetches a
namespace list, the resource types or Glance's versions; the others wait for it. Counted
in Glance's own access log."""

import threading
import time
import uuid

import pytest
from rest_framework.test import APIClient

CALLERS = 30


def together(token: str, path: str, params: dict | None = None) -> list[int]:
    """``CALLERS`` requests at once (as near as threads start), each with a client of its
    own; their statuses."""
    barrier, statuses = threading.Barrier(CALLERS), []

    def call():
        client = APIClient()
        client.credentials(HTTP_X_AUTH_TOKEN=token)
        barrier.wait(30)
        statuses.append(client.get(path, params or {}).status_code)

    threads = [threading.Thread(target=call) for _ in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return statuses


@pytest.fixture
def validated(admin_client):
    """The admin's token validated once already (what is counted is Glance's calls)."""
    assert admin_client.get("/api/glance/info/").status_code == 200


@pytest.mark.parametrize(
    "path, params, glance_call",
    [
        (
            "/api/glance/metadefs/namespaces/",
            {"resource_type": "OS::Glance::Image"},
            "GET /v2/metadefs/namespaces?",
        ),
        ("/api/glance/metadefs/resourcetypes/", None, "GET /v2/metadefs/resource_types "),
        ("/api/glance/version/", None, "GET /versions "),
    ],
)
def test_thirty_cold_callers_make_one_fill(
    admin_token, validated, glance_log, path, params, glance_call
):
    glance_log.mark()
    assert together(admin_token, path, params) == [200] * CALLERS
    assert glance_log.count(glance_call, 1) == 1


def test_a_waiting_caller_takes_the_fill_that_ends_between_its_reads():
    """A caller that waits for another's fill reads the entry, then whether the filler
    still holds its lock. The filler stores its entry and lets go of the lock between
    those two reads here (as it did in a CI run, where 30 callers made 2 fills): the
    caller must take that entry, not compute its own. The cache is the real one, the
    filler's steps are the app's own, done at that moment."""
    from django.core.cache import caches

    from glance_api.services import caching

    store = caches["default"]
    key = f"glance_api:test:{uuid.uuid4().hex}"
    store.add(f"{key}:filling", True, 10)  # the filler has begun

    class FillerEndsAfterTheFirstReadOfTheEntry:
        ended = False

        def get(self, name, default=None):
            value = store.get(name, default)
            if name == key and not self.ended:
                self.ended = True
                caching._store(store, key, "the filler's", 60)
                store.delete(f"{key}:filling")
            return value

        def __getattr__(self, name):
            return getattr(store, name)

    computed = []

    def compute():
        computed.append(1)
        return "the waiter's"

    entry = caching._fill(FillerEndsAfterTheFirstReadOfTheEntry(), key, compute, 60)
    assert (entry[1], computed) == ("the filler's", [])


def test_a_fill_renews_its_lease_on_a_connection_of_its_own():
    """The filler's lock is a lease it renews while it computes (a filler that dies lets
    go of it within FILL_LEASE_SECONDS: tests/test_stack_edges.py kills one). The
    renewing thread uses a cache connection of its own: the request's is not thread-safe
    with every backend (pymemcache's), and Django closes it when the request ends."""
    from django.core.cache import caches

    from glance_api.conf import settings
    from glance_api.services import caching

    store = caches[settings.CACHE_ALIAS]
    key = f"glance_api:test:{uuid.uuid4().hex}"
    callers = set()

    class Recorded:
        def __getattr__(self, name):
            method = getattr(store, name)

            def call(*args, **kwargs):
                callers.add(threading.get_ident())
                return method(*args, **kwargs)

            return call

    held = []

    def compute():
        time.sleep(caching.FILL_LEASE_SECONDS + 1)
        held.append(store.get(f"{key}:filling") is not None)
        return "filled"

    assert caching._fill(Recorded(), key, compute, 60)[1] == "filled"
    assert held == [True]  # renewed past its first lease
    assert callers == {threading.get_ident()}  # the request's connection: this thread's only
    assert store.get(f"{key}:filling") is None  # let go of once filled

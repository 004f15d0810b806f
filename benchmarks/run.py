"""The API's cost next to direct python-glanceclient, measured in one run (make bench).

    python -m benchmarks.run [--quick]

Seeds images in the bench project, serves the API with gunicorn as the README
recommends for production, and times each figure for the API and for the same Glance
work done directly with glanceclient on a reused keystoneauth session, taking turns.
Prints a table (median, p90, ratio API/direct) and writes bench-results/bench.json.

Image get and the throughput are also measured through ``bare_proxy`` (gunicorn and
glanceclient, no app) served the same way: the floor any such proxy pays here, so
that the table shows how much of the API's cost is the hop and how much the app's.
"""

import argparse
import io
import itertools
import threading
import time
import uuid

import requests

from devcloud import accounts, cloud
from devcloud import config as devcloud

from .common import (
    BARE_PROXY,
    ApiServer,
    direct_glance,
    interleaved,
    keystone_session,
    ms,
    print_table,
    write_results,
)
from .metadefs import RESOURCE_TYPE, direct_namespaces

TARGETS = {
    "image get": 1.15,
    "list, paginate=true (20)": 1.15,
    "list of all images": 1.10,
    "namespaces Flavor cold": 0.5,
    "namespaces Flavor warm": 0.05,
}
THROUGHPUT_TARGET = 0.85
BARE = "image get, bare proxy (floor)"


def seed(glance, count: int, mark: str) -> list[str]:
    """``count`` images with several custom properties; every tenth with a little data."""
    ids = []
    for index in range(count):
        image = glance.images.create(
            name=f"bench-{index:03d}", disk_format="raw", container_format="bare",
            bench_run=mark, os_distro="debian", os_version="12", hw_disk_bus="virtio",
            owner_team=f"team-{index % 7}",
        )
        if index % 10 == 0:
            glance.images.upload(image["id"], io.BytesIO(b"b" * 4096))
        ids.append(image["id"])
    return ids


def throughput(calls: dict, clients: int, seconds: float, block: float = 2.0) -> dict:
    """``clients`` threads calling each of ``calls`` (``call(client_index)``) for
    ``seconds`` in all, taking turns in blocks of about ``block`` seconds so that
    noise hits all alike. Per call: requests/s, errors, median and p90 in ms."""
    rounds = max(1, round(seconds / block))
    tally = {name: {"times": [], "errors": 0, "failures": [], "elapsed": 0.0} for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            _load(call, clients, seconds / rounds, tally[name])
    return {name: {"requests_per_s": len(t["times"]) / t["elapsed"], "errors": t["errors"],
                   "first_errors": t["failures"][:3], **ms(t["times"])}
            for name, t in tally.items()}


def _load(call, clients: int, seconds: float, tally: dict) -> None:
    """``clients`` threads calling ``call(client_index)`` for ``seconds``, into ``tally``."""
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def work(index: int):
        while time.monotonic() < deadline:
            start = time.perf_counter()
            try:
                call(index)
            except Exception as exc:
                with lock:
                    tally["errors"] += 1
                    tally["failures"].append(f"{type(exc).__name__}: {exc}"[:300])
                continue
            with lock:
                tally["times"].append(time.perf_counter() - start)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally["elapsed"] += time.monotonic() - started


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a short run that proves the script works (under a minute)")
    args = parser.parse_args(argv)
    count, samples, seconds, clients = (20, 5, 2, 4) if args.quick else (200, 60, 10, 8)

    cloud.up()
    accounts.register()  # the bench account (idempotent)
    session = keystone_session(devcloud.BENCH)
    glance, token = direct_glance(session), session.get_token()
    mark = uuid.uuid4().hex
    print(f"Seeding {count} images in project {devcloud.BENCH.project}...", flush=True)
    ids = seed(glance, count, mark)
    image_id = ids[len(ids) // 2]
    results = {"images": count, "samples": samples, "figures": {}}
    try:
        with ApiServer() as server, ApiServer(app=BARE_PROXY) as bare_server:
            api = f"{server.url}/api/glance"
            http = requests.Session()
            http.headers["X-Auth-Token"] = token

            def get(path, base=api, **params):
                def call():
                    response = http.get(f"{base}/{path}", params=params)
                    if not response.ok:
                        raise RuntimeError(f"{response.status_code} for {path}: {response.text}")
                    return response
                return call

            def direct_list(size):
                return lambda: list(itertools.islice(glance.images.list(
                    filters={"bench_run": mark}, sort_key="created_at", sort_dir="desc",
                    page_size=size, limit=size), size))

            pairs = {
                "image get": (get(f"images/{image_id}/"), lambda: glance.images.get(image_id)),
                "image properties": (get(f"images/{image_id}/properties/"),
                                     lambda: glance.images.get(image_id)),
                "list, paginate=true (20)": (get("images/", paginate="true", bench_run=mark),
                                             direct_list(21)),
                "list of all images": (get("images/", bench_run=mark), direct_list(1000)),
                "namespaces Flavor warm": (get("metadefs/namespaces/",
                                               resource_type=RESOURCE_TYPE),
                                           lambda: direct_namespaces(glance)),
                "resource types": (get("metadefs/resourcetypes/"),
                                   lambda: list(glance.metadefs_resource_type.list())),
                "version": (get("version/"), lambda: glance.versions.list()),
            }
            assert len(get("images/", bench_run=mark)().json()["items"]) == count
            calls = {}
            for figure, (api_call, direct_call) in pairs.items():
                calls[f"{figure}|api"], calls[f"{figure}|direct"] = api_call, direct_call
            calls[f"{BARE}|api"] = get(f"images/{image_id}", base=bare_server.url)
            timed = interleaved(calls, samples)
            timed[f"{BARE}|direct"] = timed["image get|direct"]
            cold = interleaved(
                {"api": pairs["namespaces Flavor warm"][0],
                 "direct": pairs["namespaces Flavor warm"][1]},
                max(5, samples // 3),
                before=lambda name: server.clear_cache() if name == "api" else None,
            )
            timed["namespaces Flavor cold|api"] = cold["api"]
            timed["namespaces Flavor cold|direct"] = cold["direct"]

            rows = []
            for figure in [*pairs, BARE, "namespaces Flavor cold"]:
                api_ms, direct_ms = timed[f"{figure}|api"], timed[f"{figure}|direct"]
                ratio = api_ms["median"] / direct_ms["median"]
                target = TARGETS.get(figure)
                rows.append({"figure": figure, "api": api_ms, "direct": direct_ms,
                             "ratio": ratio, "target": f"<= {target}" if target else "",
                             "met": ratio <= target if target else None})

            sessions = [requests.Session() for _ in range(clients)]
            for client in sessions:
                client.headers["X-Auth-Token"] = token
            direct_clients = [direct_glance(keystone_session(devcloud.BENCH))
                              for _ in range(clients)]
            for client in direct_clients:
                client.images.get(image_id)  # its schema, as a long-lived client has

            def api_get(index):
                sessions[index].get(f"{api}/images/{image_id}/").raise_for_status()

            def bare_get(index):
                sessions[index].get(f"{bare_server.url}/images/{image_id}").raise_for_status()

            def direct_get(index):
                direct_clients[index].images.get(image_id)

            loads = throughput({"api": api_get, "bare": bare_get, "direct": direct_get},
                               clients, seconds)
            api_load, bare_load, direct_load = loads["api"], loads["bare"], loads["direct"]
    finally:
        for each in ids:
            glance.images.delete(each)

    load_ratio = api_load["requests_per_s"] / direct_load["requests_per_s"]
    results["figures"] = rows
    results["throughput"] = {
        "clients": clients, "seconds": seconds, "api": api_load, "bare_proxy": bare_load,
        "direct": direct_load, "ratio": load_ratio,
        "bare_proxy_ratio": bare_load["requests_per_s"] / direct_load["requests_per_s"],
        "target": f">= {THROUGHPUT_TARGET}",
        "met": load_ratio >= THROUGHPUT_TARGET and api_load["errors"] == 0,
    }
    print_table(rows, f"{count} images, {samples} samples per figure (ms); direct = "
                      "python-glanceclient on a reused session; ratio = API/direct medians")
    print(f"\nimage get, {clients} concurrent clients for {seconds} s each, taking turns in "
          "blocks of about 2 s:")
    for name, load in (("API", api_load), ("bare", bare_load), ("direct", direct_load)):
        print(f"  {name:<7} {load['requests_per_s']:8.1f} req/s  errors {load['errors']}  "
              f"median {load['median']:.1f} ms  p90 {load['p90']:.1f} ms")
        for failure in load["first_errors"]:
            print(f"    error: {failure}")
    print(f"  ratio API/direct {load_ratio:.2f} (target >= {THROUGHPUT_TARGET}, 0 errors); "
          f"bare proxy/direct {results['throughput']['bare_proxy_ratio']:.2f}")
    path = write_results("bench-quick" if args.quick else "bench", results)
    print(f"\nwritten to {path}")
    return results


if __name__ == "__main__":
    main()

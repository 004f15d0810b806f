"""The API's cost next to direct python-glanceclient, measured in one run (make bench).

    python -m benchmarks.run [--quick] [--runs N] [--server gunicorn|granian]

Seeds 1,000 images in the bench project, serves the API as the docs recommend for
production, and times each figure for the API and for the same Glance work done
directly with glanceclient on a reused keystoneauth session, taking turns. Each of the
``--runs`` (3) starts fresh servers; the table gives the median over the runs of each
figure's median, and the range of its ratio API/direct. Writes bench-results/bench.json.

Image get and the throughput are also measured through ``bare_proxy`` (the same HTTP
server and glanceclient, no app) served the same way: the floor any such proxy pays
here, so that the table shows how much of the API's cost is the hop and how much the
app's. The worker memory a list of 1,000 images needs is its peak above idle.

The API is served twice in each run, alike but for its cache: the file cache (shared by
the workers through the file system, as ``make run`` can have it) and Redis (the
production stack's, ``deploy.stack``). Image get, image properties and the throughput are
measured on both. The app's own cost is each of them over the bare proxy's image get.

The regression guard: each figure is printed next to the last recorded figures
(``docs/data/bench.json``, written from a full run's ``bench-results/bench.json``), and an
app / bare-proxy ratio is flagged when its median is more than 5% above the top of its
recorded range. A flag is a reason to profile, not a failure: nothing here fails on a
noisy machine.
"""

import argparse
import io
import itertools
import json
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from devcloud import accounts, cloud
from devcloud import config as devcloud

from .common import (
    BARE_PROXY,
    DEFAULT_SERVER,
    ROOT,
    SERVERS,
    ApiServer,
    direct_glance,
    interleaved,
    keystone_session,
    ms,
    write_results,
)
from .metadefs import RESOURCE_TYPE, direct_namespaces
from .transfer import PeakMemory

TARGETS = {
    "image get": 1.15,
    "image properties": 1.15,
    "list, paginate=true (20)": 1.05,
    "list of 200 images": 1.05,
    "list of 1,000 images": 1.05,
    "namespaces Flavor cold": 0.6,
    "namespaces Flavor warm": 0.05,
    "resource types": 0.5,
    "version": 0.5,
}
THROUGHPUT_TARGET = 0.85
BARE = "image get, bare proxy (floor)"
REDIS = ", Redis cache"
# The app's own cost: these figures over the bare proxy's image get (the same Glance call).
OWN_COST = ("image get", "image properties")
OWN_COST_TARGET = 1.10
# Growth of an app / bare-proxy ratio past the top of its recorded range that is flagged.
GUARD_MARGIN = 0.05
RECORDED = ROOT / "docs" / "data" / "bench.json"
SLICE = 200  # the first 200 seeded images carry bench_slice=200: the "list of 200"


def seed(glance, count: int, mark: str) -> list[str]:
    """``count`` images with several custom properties; every tenth with a little data.
    The first ``SLICE`` also have ``bench_slice=200``. Made by eight threads."""

    def one(index: int) -> str:
        image = glance.images.create(
            name=f"bench-{index:04d}",
            disk_format="raw",
            container_format="bare",
            bench_run=mark,
            os_distro="debian",
            os_version="12",
            hw_disk_bus="virtio",
            owner_team=f"team-{index % 7}",
            **({"bench_slice": str(SLICE)} if index < SLICE else {}),
        )
        if index % 10 == 0:
            glance.images.upload(image["id"], io.BytesIO(b"b" * 4096))
        return image["id"]

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def throughput(calls: dict, clients: int, seconds: float, block: float = 2.0) -> dict:
    """``clients`` threads calling each of ``calls`` (``call(client_index)``) for
    ``seconds`` in all, taking turns in blocks of about ``block`` seconds so that
    noise hits all alike. Per call: requests/s, errors, median and p90 in ms."""
    rounds = max(1, round(seconds / block))
    tally = {name: {"times": [], "errors": 0, "failures": [], "elapsed": 0.0} for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            run_clients(call, clients, seconds / rounds, tally[name])
    return {
        name: {
            "requests_per_s": len(t["times"]) / t["elapsed"],
            "errors": t["errors"],
            "first_errors": t["failures"][:3],
            **ms(t["times"]),
        }
        for name, t in tally.items()
    }


def run_clients(call, clients: int, seconds: float, tally: dict) -> None:
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
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short run that proves the script works (under a minute)",
    )
    parser.add_argument("--runs", type=int, help="fresh servers this many times (3; quick 1)")
    parser.add_argument(
        "--record",
        action="store_true",
        help="write this run's figures to docs/data/bench.json (the next runs' reference)",
    )
    parser.add_argument(
        "--server",
        choices=SERVERS,
        default=DEFAULT_SERVER,
        help=f"the HTTP server of the API and the bare proxy ({DEFAULT_SERVER})",
    )
    args = parser.parse_args(argv)
    size = (
        {"count": 30, "samples": 5, "seconds": 2, "clients": 4}
        if args.quick
        else {"count": 1000, "samples": 40, "seconds": 10, "clients": 8}
    )
    runs = args.runs or (1 if args.quick else 3)

    cloud.up()
    accounts.register()  # the bench account (idempotent)
    session = keystone_session(devcloud.BENCH)
    glance, token = direct_glance(session), session.get_token()
    mark = uuid.uuid4().hex
    print(f"Seeding {size['count']} images in project {devcloud.BENCH.project}...", flush=True)
    ids = []
    try:
        ids = seed(glance, size["count"], mark)
        measured = []
        for number in range(runs):
            print(f"run {number + 1} of {runs} ({args.server})...", flush=True)
            measured.append(one_run(glance, token, ids[len(ids) // 2], mark, args.server, **size))
    finally:
        for each in ids:
            glance.images.delete(each)

    results = combine(measured)
    results.update(
        images=size["count"],
        samples=size["samples"],
        runs=runs,
        server=args.server,
        each_run=measured,
    )
    recorded = recorded_figures()
    print_results(results, size, runs, args.server, recorded)
    path = write_results("bench-quick" if args.quick else "bench", results)
    print(f"\nwritten to {path}")
    if args.record:
        record(results)
        print(f"recorded as the docs' figures: {RECORDED}")
    return results


def one_run(
    glance,
    token: str,
    image_id: str,
    mark: str,
    server_name: str,
    *,
    count: int,
    samples: int,
    seconds: float,
    clients: int,
) -> dict:
    """Every figure once, on servers started for this run."""
    with (
        ApiServer(server=server_name) as server,
        ApiServer(server=server_name, cache="redis") as redis_server,
        ApiServer(app=BARE_PROXY, server=server_name) as bare_server,
    ):
        api = f"{server.url}/api/glance"
        redis_api = f"{redis_server.url}/api/glance"
        http = requests.Session()
        http.headers["X-Auth-Token"] = token

        def get(path, base=api, **params):
            def call():
                response = http.get(f"{base}/{path}", params=params)
                if not response.ok:
                    raise RuntimeError(f"{response.status_code} for {path}: {response.text}")
                return response

            return call

        def direct_list(size, **filters):
            return lambda: list(
                itertools.islice(
                    glance.images.list(
                        filters={"bench_run": mark, **filters},
                        sort_key="created_at",
                        sort_dir="desc",
                        page_size=size,
                        limit=size,
                    ),
                    size,
                )
            )

        pairs = {
            "image get": (get(f"images/{image_id}/"), lambda: glance.images.get(image_id)),
            "image properties": (
                get(f"images/{image_id}/properties/"),
                lambda: glance.images.get(image_id),
            ),
            "list, paginate=true (20)": (
                get("images/", paginate="true", bench_run=mark),
                direct_list(21),
            ),
            "list of 200 images": (
                get("images/", bench_run=mark, bench_slice=str(SLICE)),
                direct_list(SLICE, bench_slice=str(SLICE)),
            ),
            "resource types": (
                get("metadefs/resourcetypes/"),
                lambda: list(glance.metadefs_resource_type.list()),
            ),
            "version": (get("version/"), lambda: glance.versions.list()),
        }
        names = itertools.cycle(["bench-renamed-a", "bench-renamed-b"])
        update_body = {"disk_format": "raw", "visibility": "private", "protected": False}

        def api_update():
            response = http.patch(
                f"{api}/images/{image_id}/", json={**update_body, "name": next(names)}
            )
            if response.status_code != 204:
                raise RuntimeError(f"{response.status_code} for update: {response.text}")

        pairs["image update"] = (
            api_update,
            lambda: glance.images.update(image_id, name=next(names)),
        )
        everything = get("images/", bench_run=mark)
        assert len(everything().json()["items"]) == count
        calls = {}
        for figure, (api_call, direct_call) in pairs.items():
            calls[f"{figure}|api"], calls[f"{figure}|direct"] = api_call, direct_call
        calls[f"{BARE}|api"] = get(f"images/{image_id}", base=bare_server.url)
        calls[f"image get{REDIS}|api"] = get(f"images/{image_id}/", base=redis_api)
        calls[f"image properties{REDIS}|api"] = get(
            f"images/{image_id}/properties/", base=redis_api
        )
        timed = interleaved(calls, samples)
        for figure in (BARE, f"image get{REDIS}", f"image properties{REDIS}"):
            timed[f"{figure}|direct"] = timed["image get|direct"]

        # The long ones, fewer samples: 1,000 images, and the namespaces of a resource type
        # (cold: the server's cache emptied before each call; warm: from the cache).
        with PeakMemory(server.process.pid) as list_memory:
            lists = interleaved(
                {"api": everything, "direct": direct_list(count)}, max(3, samples // 4)
            )
        timed["list of 1,000 images|api"] = lists["api"]
        timed["list of 1,000 images|direct"] = lists["direct"]
        namespaces = get("metadefs/namespaces/", resource_type=RESOURCE_TYPE)
        metadefs = interleaved(
            {"cold": namespaces, "warm": namespaces, "direct": lambda: direct_namespaces(glance)},
            max(5, samples // 3),
            before=lambda name: server.clear_cache() if name == "cold" else None,
        )
        for kind in ("cold", "warm"):
            timed[f"namespaces Flavor {kind}|api"] = metadefs[kind]
            timed[f"namespaces Flavor {kind}|direct"] = metadefs["direct"]

        figures = {}
        for figure in [
            *pairs,
            "list of 1,000 images",
            BARE,
            f"image get{REDIS}",
            f"image properties{REDIS}",
            "namespaces Flavor cold",
            "namespaces Flavor warm",
        ]:
            api_ms, direct_ms = timed[f"{figure}|api"], timed[f"{figure}|direct"]
            figures[figure] = {
                "api": api_ms,
                "direct": direct_ms,
                "ratio": api_ms["median"] / direct_ms["median"],
            }

        sessions = [requests.Session() for _ in range(clients)]
        for client in sessions:
            client.headers["X-Auth-Token"] = token
        direct_clients = [direct_glance(keystone_session(devcloud.BENCH)) for _ in range(clients)]
        for client in direct_clients:
            client.images.get(image_id)  # its schema, as a long-lived client has

        def api_get(index):
            sessions[index].get(f"{api}/images/{image_id}/").raise_for_status()

        def bare_get(index):
            sessions[index].get(f"{bare_server.url}/images/{image_id}").raise_for_status()

        def redis_get(index):
            sessions[index].get(f"{redis_api}/images/{image_id}/").raise_for_status()

        def direct_get(index):
            direct_clients[index].images.get(image_id)

        loads = throughput(
            {"api": api_get, "api_redis": redis_get, "bare": bare_get, "direct": direct_get},
            clients,
            seconds,
        )
    direct_rate = loads["direct"]["requests_per_s"]
    bare_ms = figures[BARE]["api"]["median"]
    return {
        "figures": figures,
        "own_cost": {
            f"{figure}{cache}": figures[f"{figure}{cache}"]["api"]["median"] / bare_ms
            for figure in OWN_COST
            for cache in ("", REDIS)
        },
        "list_memory_mib": list_memory.above_idle_mib,
        "throughput": {
            "clients": clients,
            "seconds": seconds,
            "api": loads["api"],
            "api_redis": loads["api_redis"],
            "bare_proxy": loads["bare"],
            "direct": loads["direct"],
            "ratio": loads["api"]["requests_per_s"] / direct_rate,
            "redis_ratio": loads["api_redis"]["requests_per_s"] / direct_rate,
            "bare_proxy_ratio": loads["bare"]["requests_per_s"] / direct_rate,
        },
    }


LOADS = ("api", "api_redis", "bare_proxy", "direct")


def combine(runs: list[dict]) -> dict:
    """Per figure: the median over the runs of its medians and ratio, and the ratio's range."""

    def spread(values):
        return {"ratio": statistics.median(values), "min": min(values), "max": max(values)}

    rows = []
    for figure in runs[0]["figures"]:
        each = [run["figures"][figure] for run in runs]
        target = TARGETS.get(figure)
        ratio = spread([row["ratio"] for row in each])
        rows.append(
            {
                "figure": figure,
                "api_ms": statistics.median(row["api"]["median"] for row in each),
                "direct_ms": statistics.median(row["direct"]["median"] for row in each),
                **ratio,
                "target": f"<= {target}" if target else "",
                "met": ratio["ratio"] <= target if target else None,
            }
        )
    loads = [run["throughput"] for run in runs]
    throughput = {
        "clients": loads[0]["clients"],
        "seconds": loads[0]["seconds"],
        **spread([load["ratio"] for load in loads]),
        "redis": spread([load["redis_ratio"] for load in loads]),
        "bare_proxy": spread([load["bare_proxy_ratio"] for load in loads]),
        "errors": sum(load[who]["errors"] for load in loads for who in LOADS),
        "requests_per_s": {
            who: statistics.median(load[who]["requests_per_s"] for load in loads) for who in LOADS
        },
        "first_errors": [e for load in loads for who in LOADS for e in load[who]["first_errors"]][
            :3
        ],
        "target": f">= {THROUGHPUT_TARGET}",
    }
    throughput["met"] = throughput["ratio"] >= THROUGHPUT_TARGET and throughput["errors"] == 0
    own_cost = {
        figure: {**spread([run["own_cost"][figure] for run in runs]), "target": OWN_COST_TARGET}
        for figure in runs[0]["own_cost"]
    }
    for row in own_cost.values():
        row["met"] = row["ratio"] <= OWN_COST_TARGET
    return {
        "figures": rows,
        "own_cost": own_cost,
        "throughput": throughput,
        "list_memory_mib": max(run["list_memory_mib"] for run in runs),
    }


def _change(now: float, before: float | None) -> str:
    return f"{now / before - 1:+.0%}" if before else "new"


def print_results(results: dict, size: dict, runs: int, server: str, recorded: dict) -> None:
    """The table, with each figure's change against ``recorded`` (the docs' last figures)."""
    print(
        f"\n{size['count']} images, {server}, {runs} run(s) of fresh servers; per figure the "
        "median over the runs of its median (ms), and the ratio API/direct: median "
        "[min-max]; direct = python-glanceclient on a reused session; 'change': the API's "
        f"ms against the last recorded figures ({recorded.get('source', 'none')})"
    )
    print(
        f"{'figure':<38} {'API ms':>8} {'direct ms':>10} {'ratio':>6} {'range':>13} "
        f"{'target':>8} {'change':>7}"
    )
    before = {row["figure"]: row for row in recorded.get("figures", [])}
    for row in results["figures"]:
        spread = f"[{row['min']:.2f}-{row['max']:.2f}]"
        was = before.get(row["figure"], {}).get("api_ms")
        print(
            f"{row['figure']:<38} {row['api_ms']:>8.1f} {row['direct_ms']:>10.1f} "
            f"{row['ratio']:>6.2f} {spread:>13} {row['target']:>8} {_change(row['api_ms'], was):>7}"
        )
    print_own_cost(results, recorded)
    load = results["throughput"]
    rates = load["requests_per_s"]
    print(
        f"\nimage get, {load['clients']} concurrent clients for {load['seconds']} s each, "
        "taking turns in blocks of about 2 s (requests/s, median over the runs):"
    )
    print(
        f"  API {rates['api']:.1f} (Redis cache {rates['api_redis']:.1f}), bare proxy "
        f"{rates['bare_proxy']:.1f}, direct {rates['direct']:.1f}; errors {load['errors']}"
    )
    for failure in load["first_errors"]:
        print(f"    error: {failure}")
    was = recorded.get("throughput", {}).get("ratio")
    print(
        f"  ratio API/direct {load['ratio']:.2f} [{load['min']:.2f}-{load['max']:.2f}] "
        f"(target >= {THROUGHPUT_TARGET}, 0 errors; change {_change(load['ratio'], was)}); "
        f"Redis cache {load['redis']['ratio']:.2f} "
        f"[{load['redis']['min']:.2f}-{load['redis']['max']:.2f}]; bare proxy/direct "
        f"{load['bare_proxy']['ratio']:.2f} "
        f"[{load['bare_proxy']['min']:.2f}-{load['bare_proxy']['max']:.2f}]"
    )
    print(
        f"\nworker memory for the list of {size['count']} images: "
        f"{results['list_memory_mib']:.1f} MiB above idle (the most over the runs)"
    )


def guard(own_cost: dict, recorded: dict) -> dict[str, str]:
    """Per app / bare-proxy ratio: ``"flag"`` where its median is more than GUARD_MARGIN
    above the top of its recorded range (growth beyond that record's noise), ``"ok"``
    where it is not, ``"no record"`` where nothing was recorded."""
    before = recorded.get("own_cost", {})
    verdicts = {}
    for figure, row in own_cost.items():
        was = before.get(figure)
        if was is None:
            verdicts[figure] = "no record"
        else:
            grew = row["ratio"] > was["max"] * (1 + GUARD_MARGIN)
            verdicts[figure] = "flag" if grew else "ok"
    return verdicts


def print_own_cost(results: dict, recorded: dict) -> None:
    print(
        "\nthe app's own cost: API / bare proxy (the same Glance call), median [min-max] over "
        f"the runs (target <= {OWN_COST_TARGET}); against the recorded range, flagged where "
        f"more than {GUARD_MARGIN:.0%} above its top"
    )
    verdicts = guard(results["own_cost"], recorded)
    for figure, row in results["own_cost"].items():
        was = recorded.get("own_cost", {}).get(figure)
        record = f"recorded {was['ratio']:.2f} [{was['min']:.2f}-{was['max']:.2f}]" if was else ""
        flag = "  <-- GREW: profile it (docs: benchmarks)" if verdicts[figure] == "flag" else ""
        print(
            f"  {figure:<36} {row['ratio']:.2f} [{row['min']:.2f}-{row['max']:.2f}]  {record}{flag}"
        )


def recorded_figures(path=RECORDED) -> dict:
    """The figures the docs give (``docs/data/bench.json``), or nothing."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def record(results: dict, path=RECORDED) -> None:
    """Write this run's figures as the docs' (``--record``): what the next runs compare to."""
    import datetime

    data = {
        "source": f"make bench, {datetime.date.today()} ({results['runs']} runs, "
        f"{results['server']}, {results['images']} images)",
        "figures": [
            {key: row[key] for key in ("figure", "api_ms", "direct_ms", "ratio", "min", "max")}
            for row in results["figures"]
        ],
        "own_cost": {
            figure: {key: row[key] for key in ("ratio", "min", "max")}
            for figure, row in results["own_cost"].items()
        },
        "throughput": {
            key: results["throughput"][key]
            for key in ("clients", "ratio", "min", "max", "redis", "bare_proxy", "requests_per_s")
        },
        "list_memory_mib": results["list_memory_mib"],
    }
    path.write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    main()

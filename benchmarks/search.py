"""Finding images by part of a name (issue 36) in a catalog of 10,000: make bench's
search figures.

    python -m benchmarks.search [--quick] [--count N] [--record]

Seeds ``--count`` (10,000) images in the bench project, named from twenty words (so a
word finds one image in twenty), serves the API as make bench does (gunicorn, gthread)
with the production stack's cache (Redis), and times, taking turns with its baseline:

- the first search (``q=fedora``, a page of 20): the names read, the cache emptied
  before each, next to listing the whole catalog directly, 1,000 a call (Glance's most);
- the same search again, and its next page (``marker``), each next to a whole-name
  ``name=`` list of as many images as a page (``name=in:`` the page's names) done
  directly against Glance; and, for scale, a ``name=`` list of one image, directly and
  through the API.

Also: the worker memory the first search needs (its peak above idle), and Glance's
calls per search (Glance's own access log). Each baseline is done directly against
Glance twice: with glanceclient's ``images.list`` (as make bench's baselines; the
ratio the goals are of) and as raw JSON through its HTTP client (no schema models: the
fastest a client of Glance gets), both on a reused keystoneauth session. Removes the
seeded images at the end. Writes bench-results/search.json and its chart;
``--record``: docs/data/search.json.
"""

import argparse
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from devcloud import accounts, cloud
from devcloud import config as devcloud

from .common import ApiServer, direct_glance, interleaved, keystone_session, record, write_results
from .transfer import PeakMemory

WORDS = [
    "ubuntu",
    "debian",
    "centos",
    "fedora",
    "rocky",
    "alma",
    "cirros",
    "windows",
    "freebsd",
    "arch",
    "gentoo",
    "suse",
    "rhel",
    "oracle",
    "flatcar",
    "talos",
    "alpine",
    "kali",
    "mint",
    "void",
]
WORD = "fedora"
PAGE = 20
GOALS = {"repeated search": 1.2, "next page": 1.2, "first search": 1.0}


def seed(glance, count: int, mark: str) -> list[str]:
    """``count`` images, eight threads at once: ``<word>-<n>-<size word>``."""

    def one(index: int) -> str:
        return glance.images.create(
            name=f"{WORDS[index % len(WORDS)]}-{index:05d}-{'small' if index % 3 else 'large'}",
            disk_format="qcow2",
            container_format="bare",
            search_run=mark,
        )["id"]

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def _marked(glance, mark: str) -> list[str]:
    return [image["id"] for image in glance.images.list(filters={"search_run": mark})]


def glance_calls(since: int) -> list[str]:
    """The requests Glance's access log has had since byte ``since``."""
    with open(cloud.GLANCE_ACCESS_LOG, "rb") as log:
        log.seek(since)
        return [line for line in log.read().decode(errors="replace").splitlines() if line]


def log_size() -> int:
    return cloud.GLANCE_ACCESS_LOG.stat().st_size


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 images, 2 samples")
    parser.add_argument("--count", type=int, help="images to seed (10,000; quick 300)")
    parser.add_argument("--record", action="store_true", help="write docs/data/search.json")
    parser.add_argument(
        "--keep", action="store_true", help="leave the seeded images (for --reuse: profiling)"
    )
    parser.add_argument("--reuse", metavar="MARK", help="the images a --keep run left")
    args, _ = parser.parse_known_args(argv)  # make bench's BENCH_ARGS are run.py's too
    count = args.count or (300 if args.quick else 10000)
    samples = 2 if args.quick else 9
    cold_samples = 2 if args.quick else 5

    cloud.up()
    accounts.register()
    session = keystone_session(devcloud.BENCH)
    glance, token = direct_glance(session), session.get_token()
    mark = args.reuse or uuid.uuid4().hex
    started = time.monotonic()
    ids = []
    try:
        if args.reuse:
            ids = _marked(glance, mark)
        else:
            print(f"Seeding {count} images in project {devcloud.BENCH.project}...", flush=True)
            ids = seed(glance, count, mark)
        seeded_s = None if args.reuse else time.monotonic() - started
        if seeded_s is not None:
            print(f"seeded in {seeded_s:.0f} s", flush=True)
        results = measure(glance, token, count, samples, cold_samples)
        results["seeded_s"] = seeded_s and round(seeded_s)
    finally:
        if args.keep:
            print(f"kept: --reuse {mark}")
            ids = []
        print(f"Removing the {len(ids)} images...", flush=True)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(glance.images.delete, ids))
    results["left_behind"] = 0 if args.keep else len(_marked(glance, mark))
    report(results)
    write_results("search-quick" if args.quick else "search", results)
    if args.record:
        record("search", results)
    return results


def measure(glance, token: str, count: int, samples: int, cold_samples: int) -> dict:
    with ApiServer(cache="redis") as server:
        api = f"{server.url}/api/glance/images/"
        http = requests.Session()
        http.headers["X-Auth-Token"] = token

        page = min(PAGE, count // len(WORDS) // 3)  # a quick run's catalog has fewer matches

        def search(**more):
            answer = http.get(api, params={"q": WORD, "paginate": "true", "limit": page, **more})
            if answer.status_code != 200:
                raise RuntimeError(f"{answer.status_code}: {answer.text}")
            return answer.json()

        first = search()
        assert first["search"]["complete"] and first["search"]["images_searched"] >= count
        assert len(first["items"]) == page and first["has_more_data"], first["search"]
        marker = first["items"][-1]["id"]
        exact = first["items"][0]["name"]

        # a whole-name list of as many images as a page: name=in: the page's names
        whole_names = "in:" + ",".join(item["name"] for item in first["items"])

        def direct_name_list():
            query = urllib.parse.urlencode({"name": whole_names, "limit": page + 1})
            _, body = glance.http_client.get(f"/v2/images?{query}")
            assert len(body["images"]) == page

        def client_name_list():
            listed = glance.images.list(
                filters={"name": whole_names}, page_size=page + 1, limit=page + 1
            )
            assert len(list(listed)) == page

        def client_one_name():
            listed = glance.images.list(filters={"name": exact}, page_size=2, limit=2)
            assert len(list(listed)) == 1

        def api_name_list():
            answer = http.get(api, params={"name": exact, "paginate": "true", "limit": page})
            assert answer.status_code == 200 and len(answer.json()["items"]) == 1

        def client_whole_catalog():
            assert len(list(glance.images.list(page_size=1000))) >= count

        def direct_whole_catalog():
            listed, path = 0, "/v2/images?limit=1000"
            while path:
                _, body = glance.http_client.get(path)
                listed += len(body["images"])
                path = body.get("next")
            assert listed >= count

        with PeakMemory(server.process.pid) as memory:
            cold = interleaved(
                {
                    "first search": search,
                    "whole catalog, direct": direct_whole_catalog,
                    "whole catalog, glanceclient": client_whole_catalog,
                },
                cold_samples,
                warmup=0,
                before=lambda name: server.clear_cache() if name == "first search" else None,
            )
        warm = interleaved(
            {
                "repeated search": search,
                "next page": lambda: search(marker=marker),
                "name= list, direct": direct_name_list,
                "name= list, glanceclient": client_name_list,
                "name= list, API": api_name_list,
                "one name, glanceclient": client_one_name,
            },
            samples,
        )
        calls = {}
        for name, call, clear in (
            ("first search", search, True),
            ("repeated search", search, False),
            ("next page", lambda: search(marker=marker), False),
        ):
            if clear:
                server.clear_cache()
            since = log_size()
            call()
            time.sleep(0.5)  # gunicorn writes the line as the answer goes
            calls[name] = len(glance_calls(since))

    rows = []
    for name, timings, baseline in (
        ("first search", cold, "whole catalog"),
        ("repeated search", warm, "name= list"),
        ("next page", warm, "name= list"),
    ):
        api_ms, client, raw = (
            timings[name],
            timings[f"{baseline}, glanceclient"],
            timings[f"{baseline}, direct"],
        )
        rows.append(
            {
                "figure": name,
                "api_ms": round(api_ms["median"], 1),
                "api_p90_ms": round(api_ms["p90"], 1),
                "baseline": "whole catalog, 1,000 a call"
                if name == "first search"
                else "name=in: the page's names",
                "glanceclient_ms": round(client["median"], 1),
                "ratio": round(api_ms["median"] / client["median"], 2),
                "raw_json_ms": round(raw["median"], 1),
                "ratio_raw": round(api_ms["median"] / raw["median"], 2),
                "goal": GOALS[name],
                "glance_calls": calls[name],
            }
        )
    return {
        "images": count,
        "matches_per_search": count // len(WORDS),
        "page": page,
        "samples": samples,
        "cold_samples": cold_samples,
        "rows": rows,
        "first_search_worker_mib": round(memory.above_idle_mib, 1),
        "api_name_list_ms": round(warm["name= list, API"]["median"], 1),
        "one_name_glanceclient_ms": round(warm["one name, glanceclient"]["median"], 1),
    }


def report(results: dict) -> None:
    print(
        f"\nq={WORD} in {results['images']} images ({results['matches_per_search']} "
        f"match), pages of {results['page']}; baselines done directly against Glance, "
        "with glanceclient (the ratio) and as raw JSON:"
    )
    print(
        f"{'figure':<17}{'API ms':>8}{'p90':>8}  {'baseline':<29}{'client':>8}{'ratio':>7}"
        f"{'goal':>6}{'raw':>8}{'ratio':>7}{'Glance calls':>14}"
    )
    for row in results["rows"]:
        print(
            f"{row['figure']:<17}{row['api_ms']:>8}{row['api_p90_ms']:>8}  "
            f"{row['baseline']:<29}{row['glanceclient_ms']:>8}{row['ratio']:>7}"
            f"{row['goal']:>6}{row['raw_json_ms']:>8}{row['ratio_raw']:>7}"
            f"{row['glance_calls']:>14}"
        )
    print(
        f"the API's own name= list of one image: {results['api_name_list_ms']} ms, "
        f"glanceclient's {results['one_name_glanceclient_ms']} ms; the first "
        f"search's worker memory above idle: {results['first_search_worker_mib']} MiB"
    )


if __name__ == "__main__":
    main()

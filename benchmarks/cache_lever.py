"""Distinct free text in namespace queries, as one user: what Redis and Glance pay for it.

Through the stack (nginx, two instances, Redis), as the dev cloud's demo user: one warm-up
request, then N requests to ``metadefs/namespaces/``, each with a value never sent
before: ``resource_types=OS::Glance::Image,<random>`` (and every fourth
``resource_type=<random>``, ``properties_target=<random>``, an unknown ``marker``).
Prints Redis's memory and key count before and after, and how many calls Glance got
for metadefs meanwhile (its own access log). Issue 32's finding 1: before its fix each
value made a cache entry of about 70 KB and 25 Glance calls.

    .venv/bin/python -m benchmarks.cache_lever [--values 1000]
"""

import argparse
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import redis
import requests

from benchmarks.common import RESULTS, keystone_session
from deploy import stack
from devcloud.cloud import GLANCE_ACCESS_LOG

API = f"{stack.NGINX_URL}/api/glance"
NAMESPACES = f"{API}/metadefs/namespaces/"


def redis_memory() -> dict:
    client = redis.Redis.from_url(stack.redis_url())
    memory = client.info("memory")
    return {
        "used_memory": memory["used_memory"],
        "keys": client.dbsize(),
        "maxmemory": memory["maxmemory"],
        "maxmemory_policy": memory["maxmemory_policy"],
    }


def glance_metadefs_calls() -> int:
    lines = GLANCE_ACCESS_LOG.read_text(errors="replace").splitlines()
    return sum(" /v2/metadefs/" in line for line in lines)


def query(n: int) -> dict:
    made_up = f"Made::Up::{uuid.uuid4().hex}"
    return [
        {"resource_types": f"OS::Glance::Image,{made_up}"},
        {"resource_type": made_up},
        {"resource_type": "OS::Glance::Image", "properties_target": made_up},
        {"resource_types": "OS::Glance::Image", "marker": made_up},
    ][n % 4]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=1000)
    args = parser.parse_args(argv)
    stack.up(2)
    token = keystone_session().get_token()
    http = requests.Session()
    http.headers["X-Auth-Token"] = token
    http.get(NAMESPACES, params={"resource_types": "OS::Glance::Image"}).raise_for_status()
    before, calls_before = redis_memory(), glance_metadefs_calls()
    statuses: dict[int, int] = {}
    checkpoints = []

    def one(n: int) -> int:
        return http.get(NAMESPACES, params=query(n)).status_code

    with ThreadPoolExecutor(4) as pool:
        for n, status in enumerate(pool.map(one, range(args.values)), start=1):
            statuses[status] = statuses.get(status, 0) + 1
            if n % max(1, args.values // 4) == 0:
                checkpoints.append(
                    {
                        "values": n,
                        "redis_used_memory": redis_memory()["used_memory"],
                        "glance_calls": glance_metadefs_calls() - calls_before,
                    }
                )
    after = redis_memory()
    results = {
        "values": args.values,
        "statuses": statuses,
        "redis_before": before,
        "redis_after": after,
        "redis_growth_bytes": after["used_memory"] - before["used_memory"],
        "redis_new_keys": after["keys"] - before["keys"],
        "glance_metadefs_calls": glance_metadefs_calls() - calls_before,
        "checkpoints": checkpoints,
    }
    print(f"{args.values} distinct values as demo: statuses {statuses}")
    print(
        f"Redis: {before['used_memory'] / 1024:.0f} KiB, {before['keys']} keys before; "
        f"{after['used_memory'] / 1024:.0f} KiB, {after['keys']} keys after "
        f"(maxmemory {after['maxmemory']}, {after['maxmemory_policy']})"
    )
    print(f"Glance metadefs calls meanwhile: {results['glance_metadefs_calls']}")
    for point in checkpoints:
        print(
            f"  after {point['values']:>5}: Redis {point['redis_used_memory'] / 1024:.0f} KiB, "
            f"Glance calls {point['glance_calls']}"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cache_lever.json").write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()

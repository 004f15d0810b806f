"""Distinct free text in namespace queries, as one user: what Redis and Glance pay for it.

Through the stack (nginx, two instances, Redis), as the dev cloud's demo user: one warm-up
request, then N requests to ``metadefs/namespaces/``, each with a ``resource_types`` value
never sent before (``OS::Glance::Image,<random>``), then N/4 each with a made-up
``resource_type``, ``properties_target`` and ``marker``. Prints Redis's memory and key
count before, after the N and at the end, and how many calls Glance got for metadefs
(its own access log). Issue 32's finding 1: before its fix each value made a cache entry
of about 70 KB and 25 Glance calls.

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


def queries(values: int) -> list[dict]:
    """``values`` distinct resource_types, then values/4 of each other kind."""

    def made_up() -> str:
        return f"Made::Up::{uuid.uuid4().hex}"

    return [
        *({"resource_types": f"OS::Glance::Image,{made_up()}"} for _ in range(values)),
        *({"resource_type": made_up()} for _ in range(values // 4)),
        *(
            {"resource_type": "OS::Glance::Image", "properties_target": made_up()}
            for _ in range(values // 4)
        ),
        *({"resource_types": "OS::Glance::Image", "marker": made_up()} for _ in range(values // 4)),
    ]


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

    sent = queries(args.values)

    def one(query: dict) -> int:
        return http.get(NAMESPACES, params=query).status_code

    with ThreadPoolExecutor(4) as pool:
        for n, status in enumerate(pool.map(one, sent), start=1):
            statuses[status] = statuses.get(status, 0) + 1
            if n % max(1, args.values // 4) == 0:
                checkpoints.append(
                    {
                        "requests": n,
                        "redis_used_memory": redis_memory()["used_memory"],
                        "redis_keys": redis_memory()["keys"],
                        "glance_calls": glance_metadefs_calls() - calls_before,
                    }
                )
    after = redis_memory()
    results = {
        "values": args.values,
        "requests": len(sent),
        "statuses": statuses,
        "redis_before": before,
        "redis_after": after,
        "redis_growth_bytes": after["used_memory"] - before["used_memory"],
        "redis_new_keys": after["keys"] - before["keys"],
        "glance_metadefs_calls": glance_metadefs_calls() - calls_before,
        "checkpoints": checkpoints,
    }
    print(
        f"{args.values} distinct resource_types values, then {args.values // 4} each of "
        f"resource_type, properties_target and marker, as demo: statuses {statuses}"
    )
    print(
        f"Redis: {before['used_memory'] / 1024:.0f} KiB, {before['keys']} keys before; "
        f"{after['used_memory'] / 1024:.0f} KiB, {after['keys']} keys after "
        f"(maxmemory {after['maxmemory']}, {after['maxmemory_policy']})"
    )
    print(f"Glance metadefs calls meanwhile: {results['glance_metadefs_calls']}")
    for point in checkpoints:
        print(
            f"  after {point['requests']:>5} requests: Redis "
            f"{point['redis_used_memory'] / 1024:.0f} KiB, {point['redis_keys']} keys, "
            f"Glance calls {point['glance_calls']}"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cache_lever.json").write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()

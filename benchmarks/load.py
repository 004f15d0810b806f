"""Many clients at once through nginx and two instances (the ``deploy/`` set-up), mixed
reads and writes, against the dev cloud (make load).

    python -m benchmarks.load [--clients 50] [--seconds 300] [--quick]

Each client repeats: list images (paginated), read an image, list namespaces for a
resource type, and an image's life: create (file-direct), update, change its properties,
upload a few KiB, download them, delete. Prints p50/p99 per operation, requests per
second, every error (any 5xx, any unexpected status, any dropped connection), what the
run left in Glance (it checks: must be nothing) and each worker's memory at the start and
the end. Writes bench-results/load.json.
"""

import argparse
import os
import random
import statistics
import threading
import time
import uuid
from collections import defaultdict

import requests

from deploy import stack

from .common import direct_glance, keystone_session, write_results
from .transfer import memory_kib, workers_of

API = f"{stack.NGINX_URL}/api/glance"
EXPECTED = {"list": 200, "get": 200, "namespaces": 200, "create": 201, "update": 204,
            "properties": 204, "upload": 200, "download": 200, "delete": 204}


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.times = defaultdict(list)
        self.errors = []

    def record(self, operation: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.times[operation].append(seconds)
            if error:
                self.errors.append(f"{operation}: {error}")


class FromAddress(requests.adapters.HTTPAdapter):
    """Connections from a loopback address of the client's own (Linux routes all of
    127.0.0.0/8 to loopback), so that nginx sees each client as another address, as it
    would each user (its limit on uploads at a time is per address)."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **{**kwargs, "source_address": (self.address, 0)})


def client(index: int, token: str, mark: str, deadline: float, tally: Tally,
           seed_ids: list[str]) -> None:
    http = requests.Session()
    http.mount("http://", FromAddress(f"127.0.{1 + index // 250}.{1 + index % 250}"))
    http.headers.update({"X-Auth-Token": token, "Accept": "application/json"})
    rng = random.Random(index)

    def call(operation: str, method: str, path: str, **kwargs):
        start = time.perf_counter()
        try:
            answer = http.request(method, f"{API}/{path}", timeout=60, **kwargs)
            error = None if answer.status_code == EXPECTED[operation] else (
                f"{answer.status_code} {answer.text[:200]}")
        except requests.RequestException as exc:
            answer, error = None, f"{type(exc).__name__}: {exc}"
        tally.record(operation, time.perf_counter() - start, error)
        return answer

    while time.monotonic() < deadline:
        call("list", "GET", "images/", params={"paginate": "true", "limit": 20})
        call("get", "GET", f"images/{rng.choice(seed_ids)}/")
        call("namespaces", "GET", "metadefs/namespaces/",
             params={"resource_type": "OS::Glance::Image"})
        created = call("create", "POST", "images/", json={
            "name": f"load-{mark}-{index}", "source_type": "file-direct", "disk_format": "raw",
            "visibility": "private", "protected": False, "load_run": mark})
        if created is None or created.status_code != 201:
            continue
        image_id = created.json()["id"]
        call("update", "PATCH", f"images/{image_id}/", json={
            "name": f"load-{mark}-{index}-renamed", "disk_format": "raw",
            "visibility": "private", "protected": False})
        call("properties", "PATCH", f"images/{image_id}/properties/",
             json={"updated": {"load_step": "properties"}, "removed": []})
        call("upload", "PUT", f"images/{image_id}/file/", data=os.urandom(8192),
             headers={"Content-Type": "application/octet-stream"})
        call("download", "GET", f"images/{image_id}/file/",
             headers={"Accept": "application/octet-stream"})
        call("delete", "DELETE", f"images/{image_id}/")


def worker_memory(servers) -> dict[int, int]:
    return {pid: memory_kib(pid, "VmRSS") for server in servers
            for pid in workers_of(server.pid())}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--quick", action="store_true", help="10 clients for 10 s")
    args = parser.parse_args(argv)
    clients, seconds = (10, 10.0) if args.quick else (args.clients, args.seconds)

    servers = stack.up(2)
    session = keystone_session()
    token = session.get_token()
    glance = direct_glance(session)
    mark = uuid.uuid4().hex[:8]
    seed_ids = [glance.images.create(name=f"load-seed-{mark}-{i}", disk_format="raw",
                                     container_format="bare", load_run=mark)["id"]
                for i in range(5)]
    tally = Tally()
    try:
        requests.get(f"{API}/version/", headers={"X-Auth-Token": token}).raise_for_status()
        memory_start = worker_memory(servers)
        start = time.monotonic()
        threads = [threading.Thread(target=client, args=(i, token, mark, start + seconds, tally,
                                                         seed_ids)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - start
        memory_end = worker_memory(servers)
    finally:
        for image_id in seed_ids:
            glance.images.delete(image_id)
    left = [image["id"] for image in glance.images.list(filters={"load_run": mark})]

    operations = {}
    for operation, times in tally.times.items():
        ordered = sorted(times)
        operations[operation] = {
            "count": len(ordered),
            "p50_ms": statistics.median(ordered) * 1000,
            "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        }
    total = sum(op["count"] for op in operations.values())
    growth = {pid: (memory_end.get(pid, 0) - kib) / 1024 for pid, kib in memory_start.items()}
    results = {
        "clients": clients, "seconds": round(elapsed, 1), "requests": total,
        "requests_per_s": total / elapsed, "errors": len(tally.errors),
        "error_samples": tally.errors[:20], "left_in_glance": left,
        "operations": operations,
        "worker_memory_mib": {str(pid): {"start": kib / 1024, "end": memory_end.get(pid, 0) / 1024,
                                         "growth": growth[pid]}
                              for pid, kib in memory_start.items()},
    }
    print(f"\n{clients} clients for {elapsed:.0f} s through nginx and two instances: "
          f"{total} requests, {total / elapsed:.1f}/s, {len(tally.errors)} errors, "
          f"{len(left)} images left in Glance")
    print(f"{'operation':<12} {'count':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for operation in EXPECTED:
        if operation in operations:
            row = operations[operation]
            print(f"{operation:<12} {row['count']:>7} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f}")
    for pid, row in results["worker_memory_mib"].items():
        print(f"worker {pid}: {row['start']:.1f} MiB at the start, {row['end']:.1f} at the end "
              f"({row['growth']:+.1f}; target under 20)")
    for error in tally.errors[:20]:
        print(f"error: {error}")
    write_results("load", results)
    return results


if __name__ == "__main__":
    main()

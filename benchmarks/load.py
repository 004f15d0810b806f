"""Many clients at once through nginx and two instances (the ``deploy/`` set-up), mixed
reads and writes, against the dev cloud (make load).

    python -m benchmarks.load [--clients 50] [--seconds 300] [--quick] [--tight] [--one-address]

Two shapes of client, neither pausing between requests:

- the cycle (the default): list images (paginated), read an image, list namespaces for a
  resource type, and an image's life: create (file-direct), update, change its
  properties, upload 8 KiB, download them, delete; over and over.
- ``--tight``: each request drawn at random, 40% paginated lists, 15% namespace lists,
  then creates, uploads of 64 KiB, updates and deletes of the client's own images. An
  upload goes to any of them, or to one of the run's seed images, which have data: so
  some land on an image that has data already and are answered 409 before the API reads
  their body, the shape that made nginx take both instances out (issue 21).

Each client connects from a loopback address of its own, as users would; with
``--one-address`` all of them share 127.0.0.1, as users behind one NAT would, and nginx's
per-address limit on image data at a time answers the uploads beyond it 429. Every
client signs in as the same user, so the app's per-user limit (UPLOADS_PER_USER) answers
uploads beyond it 429 too. Both are counted apart, and each must carry Retry-After.
Prints p50/p99 per operation, requests per second, every error (any 5xx, any unexpected
status, any dropped connection), what the run left in Glance (it checks: must be nothing)
and each worker's memory at the start and the end, and past the warm-up. Writes
bench-results/load.json (load-tight.json, load-one-address.json, ...).
"""

import argparse
import io
import os
import random
import re
import statistics
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import requests

from deploy import stack

from .common import direct_glance, keystone_session, write_results
from .transfer import memory_kib, workers_of

API = f"{stack.NGINX_URL}/api/glance"
# The statuses each operation may answer; anything else is an error. An upload is 200
# through the app, 204 (Glance's) where nginx carries it (docs: production, "Image bytes
# through nginx").
EXPECTED = {
    "list": {200},
    "get": {200},
    "namespaces": {200},
    "create": {201},
    "update": {204},
    "properties": {204},
    "upload": {200, 204},
    "download": {200},
    "delete": {204},
}
# --tight: an upload to an image that has data already is answered 409, as it should be.
TIGHT_EXPECTED = {**EXPECTED, "upload": {200, 204, 409}}
# --tight: the share of each operation (the rest of the draw goes to the image's life).
TIGHT_MIX = (
    ("list", 40),
    ("namespaces", 15),
    ("create", 12),
    ("upload", 13),
    ("update", 10),
    ("delete", 10),
)
TIGHT_UPLOAD_BYTES = 64 * 1024
# A client keeps at most this many images of its own at a time (--tight).
TIGHT_OWN_IMAGES = 4


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.times = defaultdict(list)
        self.statuses = defaultdict(lambda: defaultdict(int))
        self.errors = []
        self.limited = 0  # uploads answered 429: nginx's limit per address, the app's per user

    def record(
        self,
        operation: str,
        seconds: float,
        status: int | None,
        error: str | None,
        request_id: str | None = None,
        retry_after: bool = False,
    ) -> None:
        with self.lock:
            self.times[operation].append(seconds)
            self.statuses[operation][status or "dropped"] += 1
            if error:
                self.errors.append(f"{operation}: {error}")


class FromAddress(requests.adapters.HTTPAdapter):
    """Connections from a given loopback address (Linux routes all of 127.0.0.0/8 to
    loopback), so that nginx sees each client as another address, as it would each user
    (its limit on image data at a time is per address)."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **{**kwargs, "source_address": (self.address, 0)})


class Client:
    """One client: a session from its address, with the calls it makes and their tally."""

    def __init__(
        self,
        index: int,
        token: str,
        mark: str,
        tally: Tally,
        expected: dict,
        one_address: bool = False,
    ):
        self.index, self.mark, self.tally, self.expected = index, mark, tally, expected
        self.one_address = one_address
        self.http = requests.Session()
        address = "127.0.0.1" if one_address else f"127.0.{1 + index // 250}.{1 + index % 250}"
        self.http.mount("http://", FromAddress(address))
        self.http.headers.update({"X-Auth-Token": token, "Accept": "application/json"})
        self.rng = random.Random(index)

    def call(self, operation: str, method: str, path: str, **kwargs):
        # each call's own request id, which the app's log, nginx's and Glance's write: a
        # slow or failed call can be followed through the servers
        request_id = f"req-{uuid.uuid4()}"
        headers = {**kwargs.pop("headers", {}), "X-OpenStack-Request-ID": request_id}
        start = time.perf_counter()
        try:
            answer = self.http.request(
                method, f"{API}/{path}", timeout=60, headers=headers, **kwargs
            )
        except requests.RequestException as exc:
            self.tally.record(
                operation,
                time.perf_counter() - start,
                None,
                f"{type(exc).__name__}: {exc}",
                request_id,
            )
            return None
        status, error = answer.status_code, None
        # an upload over a limit: nginx's per address (all clients behind one) or the app's
        # per user (every client signs in as the same user): the client's doing, counted
        if status == 429 and operation == "upload":
            with self.tally.lock:
                self.tally.limited += 1
            if not answer.headers.get("Retry-After"):
                error = "429 without Retry-After"
        elif status not in self.expected[operation]:
            error = f"{status} {answer.text[:200]}"
        self.tally.record(
            operation,
            time.perf_counter() - start,
            status,
            error,
            request_id,
            retry_after=bool(answer.headers.get("Retry-After")),
        )
        return answer

    def create(self):
        return self.call(
            "create",
            "POST",
            "images/",
            json={
                "name": f"load-{self.mark}-{self.index}",
                "source_type": "file-direct",
                "disk_format": "raw",
                "visibility": "private",
                "protected": False,
                "load_run": self.mark,
            },
        )

    def cycle(self, deadline: float, seed_ids: list[str]) -> None:
        """The default shape: reads, then one image's whole life, over and over."""
        while time.monotonic() < deadline:
            self.one_cycle(seed_ids)

    def one_cycle(self, seed_ids: list[str]) -> None:
        """Reads, then one image's life: create, update, properties, upload, download,
        and the delete, unless :meth:`keep` keeps the image."""
        self.call("list", "GET", "images/", params={"paginate": "true", "limit": 20})
        self.call("get", "GET", f"images/{self.rng.choice(seed_ids)}/")
        self.call(
            "namespaces",
            "GET",
            "metadefs/namespaces/",
            params={"resource_type": "OS::Glance::Image"},
        )
        created = self.create()
        if created is None or created.status_code != 201:
            return
        image_id = created.json()["id"]
        self.call(
            "update",
            "PATCH",
            f"images/{image_id}/",
            json={
                "name": f"load-{self.mark}-{self.index}-renamed",
                "disk_format": "raw",
                "visibility": "private",
                "protected": False,
            },
        )
        self.call(
            "properties",
            "PATCH",
            f"images/{image_id}/properties/",
            json={"updated": {"load_step": "properties"}, "removed": []},
        )
        data = os.urandom(8192)
        uploaded = self.call(
            "upload",
            "PUT",
            f"images/{image_id}/file/",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        downloaded = None
        if uploaded is not None and uploaded.status_code in (200, 204):  # not a 429
            downloaded = self.call(
                "download",
                "GET",
                f"images/{image_id}/file/",
                headers={"Accept": "application/octet-stream"},
            )
        if not self.keep(image_id, data, uploaded, downloaded):
            self.delete(image_id)

    def keep(self, image_id: str, data: bytes, uploaded, downloaded) -> bool:
        """Whether the cycle leaves the image it made (here: never)."""
        return False

    def tight(self, deadline: float, seed_ids: list[str]) -> None:
        """--tight: requests drawn at random from TIGHT_MIX, on the client's own images."""
        own: list[str] = []
        operations, weights = zip(*TIGHT_MIX, strict=True)
        while time.monotonic() < deadline:
            operation = self.rng.choices(operations, weights)[0]
            if operation in ("upload", "update", "delete") and not own:
                operation = "create"
            if operation == "create" and len(own) >= TIGHT_OWN_IMAGES:
                operation = "delete"
            if operation == "list":
                self.call("list", "GET", "images/", params={"paginate": "true", "limit": 20})
            elif operation == "namespaces":
                self.call(
                    "namespaces",
                    "GET",
                    "metadefs/namespaces/",
                    params={"resource_type": "OS::Glance::Image"},
                )
            elif operation == "create":
                created = self.create()
                if created is not None and created.status_code == 201:
                    own.append(created.json()["id"])
            elif operation == "upload":
                # a third to a seed image, which has data: a 409 before the body is read
                target = self.rng.choice(seed_ids if self.rng.random() < 1 / 3 else own)
                self.call(
                    "upload",
                    "PUT",
                    f"images/{target}/file/",
                    data=os.urandom(TIGHT_UPLOAD_BYTES),
                    headers={"Content-Type": "application/octet-stream"},
                )
            elif operation == "update":
                self.call(
                    "update",
                    "PATCH",
                    f"images/{self.rng.choice(own)}/",
                    json={
                        "name": f"load-{self.mark}-{self.index}-{self.rng.randrange(1000)}",
                        "disk_format": "raw",
                        "visibility": "private",
                        "protected": False,
                    },
                )
            else:
                self.delete(own.pop(self.rng.randrange(len(own))))
        for image_id in own:  # the client's own images go, through the API
            self.delete(image_id)

    def delete(self, image_id: str) -> None:
        self.call("delete", "DELETE", f"images/{image_id}/")


def worker_memory(servers) -> dict[int, int]:
    return {pid: memory_kib(pid, "VmRSS") for server in servers for pid in workers_of(server.pid())}


def worker_mib(servers) -> dict[int, float]:
    found = {}
    for server in servers:
        for pid in workers_of(server.pid() or 0):
            try:
                found[pid] = memory_kib(pid, "VmRSS") / 1024
            except (OSError, LookupError):  # gone meanwhile
                pass
    return found


class MemorySampler:
    """Each worker's memory every STEP seconds (workers come and go with the faults); its
    growth is from its first sample ``warm_up`` seconds after it was first seen, to its
    last."""

    STEP = 2.0

    def __init__(self, servers, warm_up: float):
        self.servers, self.warm_up = servers, warm_up
        self.samples: dict[int, list[tuple[float, float]]] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self):
        while not self.stopping.is_set():
            now = time.monotonic()
            for pid, mib in worker_mib(self.servers).items():
                self.samples.setdefault(pid, []).append((now, mib))
            self.stopping.wait(self.STEP)

    def growth(self) -> dict[str, dict]:
        self.stopping.set()
        self.thread.join()
        found = {}
        for pid, samples in self.samples.items():
            warm = [mib for at, mib in samples if at >= samples[0][0] + self.warm_up]
            if len(warm) >= 2:
                found[str(pid)] = {
                    "from_mib": round(warm[0], 1),
                    "to_mib": round(warm[-1], 1),
                    "growth_mib": round(warm[-1] - warm[0], 1),
                    "seconds": round(len(warm) * self.STEP),
                }
        return found


class LogTail:
    """What a server wrote to its log file during the run (read from its end at the start)."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def lines(self) -> list[str]:
        if not self.path.exists():
            return []
        with open(self.path, "rb") as log:
            log.seek(self.offset)
            return log.read().decode(errors="replace").splitlines()


# What in the servers' own logs the clients may not have seen: nginx's errors and warnings
# (an upstream closing or resetting a connection, an instance taken out), and gunicorn's.
NGINX_PROBLEM = re.compile(r"\[(error|crit|alert|emerg|warn)\]")
GUNICORN_PROBLEM = re.compile(
    r"\[(ERROR|CRITICAL)\]|WORKER TIMEOUT|Traceback|Worker \(pid:\d+\) "
    r"(was sent|exited)"
)


# nginx's note of each 429 it answered over the per-address limit: the client's doing.
NGINX_LIMITED = "limiting connections by zone"


def server_problems(nginx: LogTail, apps: list[LogTail]) -> dict[str, list[str]]:
    return {
        "nginx": [
            line
            for line in nginx.lines()
            if NGINX_PROBLEM.search(line) and NGINX_LIMITED not in line
        ],
        "gunicorn": [line for app in apps for line in app.lines() if GUNICORN_PROBLEM.search(line)],
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--quick", action="store_true", help="10 clients for 10 s")
    parser.add_argument(
        "--tight",
        action="store_true",
        help="requests drawn at random, 64 KiB uploads, some answered 409",
    )
    parser.add_argument("--one-address", action="store_true", help="every client from 127.0.0.1")
    args = parser.parse_args(argv)
    clients, seconds = (10, 10.0) if args.quick else (args.clients, args.seconds)
    shape = "tight" if args.tight else "cycle"
    name = "-".join(
        ["load", *(["tight"] if args.tight else []), *(["one-address"] if args.one_address else [])]
    )

    servers = stack.up(2)
    session = keystone_session()
    token = session.get_token()
    glance = direct_glance(session)
    mark = uuid.uuid4().hex[:8]
    seed_ids = [
        glance.images.create(
            name=f"load-seed-{mark}-{i}", disk_format="raw", container_format="bare", load_run=mark
        )["id"]
        for i in range(5)
    ]
    for image_id in seed_ids:  # with data: uploads to them are answered 409 (--tight)
        glance.images.upload(image_id, io.BytesIO(b"seed"))
    tally = Tally()
    expected = TIGHT_EXPECTED if args.tight else EXPECTED
    nginx_log = LogTail(stack.HOME / "nginx" / "error.log")
    app_logs = [LogTail(server.log_file) for server in servers]
    try:
        requests.get(f"{API}/version/", headers={"X-Auth-Token": token}).raise_for_status()
        memory_start = worker_memory(servers)
        # growth past the warm-up (the first fifth of the run, at most 30 s): a leak, not
        # the imports, caches and thread stacks of a worker's first requests
        sampler = MemorySampler(servers, min(30.0, seconds / 5))
        start = time.monotonic()
        runners = [
            Client(i, token, mark, tally, expected, args.one_address) for i in range(clients)
        ]
        threads = [
            threading.Thread(target=getattr(runner, shape), args=(start + seconds, seed_ids))
            for runner in runners
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - start
        memory_end = worker_memory(servers)
        warm_growth = sampler.growth()
    finally:
        for image_id in seed_ids:
            glance.images.delete(image_id)
    left = [image["id"] for image in glance.images.list(filters={"load_run": mark})]
    for image_id in left:  # so that a failed run leaves nothing behind either
        glance.images.delete(image_id)
    problems = server_problems(nginx_log, app_logs)

    operations = {}
    for operation, times in tally.times.items():
        ordered = sorted(times)
        operations[operation] = {
            "count": len(ordered),
            "p50_ms": statistics.median(ordered) * 1000,
            "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
            "statuses": {str(k): v for k, v in sorted(tally.statuses[operation].items(), key=str)},
        }
    total = sum(op["count"] for op in operations.values())
    server_errors = sum(
        count
        for op in operations.values()
        for status, count in op["statuses"].items()
        if status.isdigit() and int(status) >= 500
    )
    growth = {pid: (memory_end.get(pid, 0) - kib) / 1024 for pid, kib in memory_start.items()}
    results = {
        "shape": shape,
        "one_address": args.one_address,
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": total,
        "requests_per_s": total / elapsed,
        "errors": len(tally.errors),
        "server_errors": server_errors,
        "limited": tally.limited,
        "error_samples": tally.errors[:20],
        "left_in_glance": left,
        "operations": operations,
        "nginx_problems": len(problems["nginx"]),
        "nginx_samples": problems["nginx"][:10],
        "gunicorn_problems": len(problems["gunicorn"]),
        "gunicorn_samples": problems["gunicorn"][:10],
        "worker_memory_mib": {
            str(pid): {
                "start": kib / 1024,
                "end": memory_end.get(pid, 0) / 1024,
                "growth": growth[pid],
                "growth_after_warm_up": warm_growth.get(str(pid), {}).get("growth_mib"),
            }
            for pid, kib in memory_start.items()
        },
    }
    print(
        f"\n{clients} clients ({shape}{', one address' if args.one_address else ''}) for "
        f"{elapsed:.0f} s through nginx and two instances: {total} requests, "
        f"{total / elapsed:.1f}/s, {len(tally.errors)} errors ({server_errors} 5xx), "
        f"{tally.limited} uploads limited (429), {len(left)} images left in Glance"
    )
    print(f"{'operation':<12} {'count':>7} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    for operation in EXPECTED:
        if operation in operations:
            row = operations[operation]
            print(
                f"{operation:<12} {row['count']:>7} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f}"
                f"  {' '.join(f'{k}:{v}' for k, v in row['statuses'].items())}"
            )
    for pid, row in results["worker_memory_mib"].items():
        warm = row["growth_after_warm_up"]
        print(
            f"worker {pid}: {row['start']:.1f} MiB at the start, {row['end']:.1f} at the end "
            f"({row['growth']:+.1f}; {'-' if warm is None else f'{warm:+.1f}'} after the "
            "warm-up: target under 20)"
        )
    print(
        f"nginx's error log: {len(problems['nginx'])} errors and warnings; gunicorn's logs: "
        f"{len(problems['gunicorn'])} errors"
    )
    for line in problems["nginx"][:5] + problems["gunicorn"][:5]:
        print(f"server log: {line}")
    for error in tally.errors[:20]:
        print(f"error: {error}")
    write_results(name, results)
    return results


if __name__ == "__main__":
    main()

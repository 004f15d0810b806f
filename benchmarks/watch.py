"""make bench-watch: waiting on images through the production stack (issue 35).

    python -m benchmarks.watch [--quick] [--record]

Through nginx, two WSGI instances and two asynchronous ones, sharing Redis (deploy/),
against the dev cloud. Each waiter is a client of its own loopback address (127.0.x.y)
that long-polls one image (``If-None-Match`` and ``Prefer: wait=30``) again as soon as
each answer comes: the shape of a dashboard that watches an image.

- **Glance's requests per second against the number of waiters**: 1, 10, 100 and 1,000
  waiters on one image, and 100 waiters on 100 images of one project, each for WINDOW
  seconds, counted in Glance's own access log; beside it the same window with nobody
  waiting.
- **The asynchronous instances' memory per waiter**: their workers' RSS with the
  waiters, less without, per waiter.
- **Other requests while 1,000 wait**: an image's GET through nginx, one after another
  from an address of its own: p50 and p99 at rest and with the waiters (target: p99 at
  most 1.5 times at rest).
- **Every waiter sees a change**: the image changed once the 1,000 wait; the time until
  the last of them has its 200 (target: within 15 s).
- What nginx's and the instances' own logs said meanwhile.
"""

import argparse
import asyncio
import resource
import statistics
import time

import requests

from deploy import stack
from devcloud import cloud
from devcloud import config as devcloud

from .common import keystone_session, record, write_results
from .load import LogTail, server_problems
from .transfer import memory_kib, workers_of

API = "/api/glance"


# --- a small HTTP/1.1 client: one keep-alive connection per waiter, from its own address


class Connection:
    def __init__(self, address: str):
        self.address = address
        self.reader = self.writer = None

    async def request(self, path: str, headers: dict) -> tuple[int, dict, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                devcloud.HOST, stack.NGINX_PORT, local_addr=(self.address, 0)
            )
        lines = [f"GET {path} HTTP/1.1", f"Host: {devcloud.HOST}:{stack.NGINX_PORT}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed")
        status = int(status_line.split()[1])
        answer_headers = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            answer_headers[name.strip().lower()] = value.strip()
        body = b""
        if "content-length" in answer_headers:
            body = await self.reader.readexactly(int(answer_headers["content-length"]))
        elif answer_headers.get("transfer-encoding") == "chunked":
            while (size := int((await self.reader.readline()).strip(), 16)) > 0:
                body += await self.reader.readexactly(size)
                await self.reader.readline()
            await self.reader.readline()
        if answer_headers.get("connection") == "close":
            self.close()
        return status, answer_headers, body

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def address(index: int) -> str:
    return f"127.0.{10 + index // 250}.{1 + index % 250}"


class Waiter:
    """Long-polls one image until stopped; notes when it saw each change."""

    def __init__(self, index: int, token: str, image_id: str, tag: str):
        self.connection = Connection(address(index))
        self.token, self.path, self.tag = token, f"{API}/images/{image_id}/", tag
        self.seen: list[float] = []
        self.statuses: dict[int, int] = {}
        self.errors = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            headers = {"X-Auth-Token": self.token, "If-None-Match": self.tag, "Prefer": "wait=30"}
            try:
                status, answer, _ = await self.connection.request(self.path, headers)
            except (OSError, ConnectionError, ValueError, asyncio.IncompleteReadError):
                self.errors += 1
                self.connection.close()
                await asyncio.sleep(0.5)
                continue
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status == 200:
                self.tag = answer["etag"]
                self.seen.append(time.monotonic())
            elif status != 304:
                await asyncio.sleep(0.5)
        self.connection.close()


# --- what is measured -------------------------------------------------------------------


def glance_requests(log: LogTail) -> int:
    return len(log.lines())


def watch_rss_kib() -> int:
    total = 0
    for server in stack.watch_servers(2):
        for pid in workers_of(server.pid() or -1):
            total += memory_kib(pid, "VmRSS")
    return total


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def others_ms(token: str, image_id: str, samples: int) -> dict:
    """An image's GET through nginx, one after another, from an address of its own."""
    http = requests.Session()
    from .load import FromAddress

    http.mount("http://", FromAddress("127.0.9.1"))
    url = f"{stack.NGINX_URL}{API}/images/{image_id}/"
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        answer = http.get(url, headers={"X-Auth-Token": token})
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.status_code
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p99_ms": round(percentile(times, 0.99), 2),
    }


async def waiting(token: str, targets: list[tuple[str, str]], window: float, during=None) -> dict:
    """``targets`` (image id, ETag) waited on, one waiter each, for ``window`` seconds
    once they all wait; ``during(waiters)`` runs in a thread meanwhile."""
    glance_log = LogTail(cloud.GLANCE_ACCESS_LOG)
    rss_before = watch_rss_kib()
    waiters = [Waiter(i, token, image_id, tag) for i, (image_id, tag) in enumerate(targets)]
    stop = asyncio.Event()
    tasks = [asyncio.ensure_future(waiter.run(stop)) for waiter in waiters]
    await asyncio.sleep(min(10, 2 + len(waiters) / 200))  # they all wait
    settled = LogTail(cloud.GLANCE_ACCESS_LOG)
    started = time.monotonic()
    extra = await asyncio.to_thread(during, waiters) if during else None
    await asyncio.sleep(max(0, window - (time.monotonic() - started)))
    seconds = time.monotonic() - started
    rss_with = watch_rss_kib()
    calls = glance_requests(settled)
    stop.set()
    for task in tasks:  # (a waiter's long-poll in flight would take up to 30 s more)
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=10)
    for waiter in waiters:
        waiter.connection.close()
    statuses: dict[int, int] = {}
    for waiter in waiters:
        for status, count in waiter.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    return {
        "waiters": len(waiters),
        "glance_per_s": round(calls / seconds, 2),
        "glance_calls_arriving": glance_requests(glance_log) - calls,
        "kib_per_waiter": round((rss_with - rss_before) / max(1, len(waiters)), 1),
        "answers": statuses,
        "errors": sum(waiter.errors for waiter in waiters),
        "extra": extra,
        "waiters_objects": waiters,
    }


def create_images(token: str, count: int, name: str) -> list[str]:
    ids = []
    for i in range(count):
        answer = requests.post(
            f"{stack.NGINX_URL}{API}/images/",
            json={
                "name": f"{name}-{i}",
                "source_type": "file-direct",
                "disk_format": "raw",
                "container_format": "bare",
                "visibility": "private",
                "protected": False,
            },
            headers={"X-Auth-Token": token},
        )
        answer.raise_for_status()
        ids.append(answer.json()["id"])
    return ids


def etag(token: str, image_id: str) -> str:
    answer = requests.get(
        f"{stack.NGINX_URL}{API}/images/{image_id}/", headers={"X-Auth-Token": token}
    )
    answer.raise_for_status()
    return answer.headers["ETag"]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter windows, up to 100")
    parser.add_argument("--record", action="store_true", help="docs/data/watch.json too")
    args = parser.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    window = 10 if args.quick else 20
    counts = [1, 10, 100] if args.quick else [1, 10, 100, 1000]
    stack.down()
    stack.up(2)
    nginx = LogTail(stack.HOME / "nginx" / "error.log")
    apps = [LogTail(devcloud.LOGS / f"stack-{k}-{i}.log") for k in ("app", "watch") for i in (0, 1)]
    token = keystone_session().get_token()
    ids = create_images(token, 101, "bench-watch")
    one, many = ids[0], ids[1:]
    rows = []
    try:
        rest = asyncio.run(waiting(token, [], window))
        rows.append({"case": "nobody waiting", **_row(rest)})
        at_rest = others_ms(token, one, 300)
        for count in counts:
            tag = etag(token, one)
            result = asyncio.run(waiting(token, [(one, tag)] * count, window))
            rows.append({"case": f"{count} on one image", **_row(result)})
        tags = [(image_id, etag(token, image_id)) for image_id in many]
        result = asyncio.run(waiting(token, tags, window))
        rows.append({"case": "100 on 100 images of a project", **_row(result)})

        most = counts[-1]
        tag = etag(token, one)

        def meanwhile(waiters):
            loaded = others_ms(token, one, 300)
            changed = time.monotonic()
            requests.patch(
                f"{stack.NGINX_URL}{API}/images/{one}/properties/",
                json={"updated": {"x_bench_watch": str(time.time())}},
                headers={"X-Auth-Token": token},
            ).raise_for_status()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not all(w.seen for w in waiters):
                time.sleep(0.2)
            seen = [w.seen[0] - changed for w in waiters if w.seen]
            return {"loaded": loaded, "seen": seen}

        result = asyncio.run(waiting(token, [(one, tag)] * most, window, during=meanwhile))
        seen = result["extra"]["seen"]
        loaded = result["extra"]["loaded"]
    finally:
        for image_id in ids:
            requests.delete(
                f"{stack.NGINX_URL}{API}/images/{image_id}/", headers={"X-Auth-Token": token}
            )
    results = {
        "window_s": window,
        "poll_s": 2,
        "rows": rows,
        "others": {
            "waiters": most,
            "at_rest": at_rest,
            "waiting": loaded,
            "p99_ratio": round(loaded["p99_ms"] / at_rest["p99_ms"], 2),
        },
        "change": {
            "waiters": most,
            "saw_it": len(seen),
            "p50_s": round(statistics.median(seen), 2) if seen else None,
            "last_s": round(max(seen), 2) if seen else None,
        },
        "problems": server_problems(nginx, apps),
    }
    report(results)
    write_results("watch", results)
    if args.record:
        record("watch", results)
    return results


def _row(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in ("waiters_objects", "extra")}


def report(results: dict) -> None:
    print(f"\nGlance's requests per second while clients wait ({results['window_s']} s each):")
    print(f"{'case':<34}{'Glance/s':>10}{'KiB/waiter':>12}  answers, errors")
    for row in results["rows"]:
        print(
            f"{row['case']:<34}{row['glance_per_s']:>10}{row['kib_per_waiter']:>12}  "
            f"{row['answers']}, {row['errors']}"
        )
    others = results["others"]
    print(
        f"\nan image's GET, one after another: at rest p50 {others['at_rest']['p50_ms']} ms, "
        f"p99 {others['at_rest']['p99_ms']} ms; with {others['waiters']} waiting p50 "
        f"{others['waiting']['p50_ms']} ms, p99 {others['waiting']['p99_ms']} ms "
        f"(p99 ratio {others['p99_ratio']}, target at most 1.5)"
    )
    change = results["change"]
    print(
        f"a change seen by {change['saw_it']} of {change['waiters']} waiters: median "
        f"{change['p50_s']} s, the last after {change['last_s']} s (target within 15 s)"
    )
    for source, lines in results["problems"].items():
        print(f"{source}: {len(lines)} problem lines" + (f", e.g. {lines[0]}" if lines else ""))


if __name__ == "__main__":
    main()

"""Faults under load (make chaos): the make load mix through nginx and two instances, while
each part is broken in turn; what each fault costs, and that nothing was lost.

    python -m benchmarks.chaos [--clients 30] [--quick]

Beside them, waiters and streams (chaos_watch.py) watch the seed images while a ticker
changes them. The clients run load.py's cycle (list, read, namespaces, create, update, properties,
upload 8 KiB, download, delete), and keep one image in four with its data, to check
later. After a warm-up, the faults come one at a time, each given SETTLE seconds after
its part is back before the next, so that each fault's window is its own:

- ``worker-kill``: ``kill -9`` of one gunicorn worker of the first instance;
- ``instance-stop``: the second instance stopped for STOP_SECONDS, then started;
- ``watch-instance-stop``: the second asynchronous instance (waits and streams) likewise;
- ``redis-restart``, ``keystone-restart``, ``glance-restart``, ``postgres-restart`` (the
  dev cloud's, under Keystone and Glance);
- ``aborted-uploads``: ABORTING clients that each create an image and break off its upload
  mid-body: a third carried by nginx to Glance, a sixth streamed by an instance (its own
  port), a sixth multipart creates (the app creates the image in the same request), a
  third with the data's SHA-512 in Content-Digest (issue 37: through nginx, which sends
  them through the app, and straight to an instance); each must leave its image queued
  with no data (a digest upload is checked only once all of it is stored).

Per fault: the answers in its window (from the fault to SETTLE after the part is back)
by status, and whether every 503 carried Retry-After; the time from the part answering
again to the first success that needed it (an instance's or a worker's access log: the
first 2xx it answered; Redis: the first key the app wrote; Keystone: a validation of a
new token through the API; Glance and PostgreSQL: the first client request that needed
Glance); the requests that took longer than HUNG_SECONDS, each followed through nginx's,
gunicorn's, the app's and Glance's logs by its request id: those whose time beyond what
they waited on Glance was that long hung in the stack, the others were slow in Glance
(its first answers after it restarts). During the Keystone restart,
new tokens and sign-ins are tried through the API (a 503 with Retry-After is expected).

After the run, in Glance: every upload answered 200 or 204 whose image was kept is
``active`` with the sha512 that was sent; every delete answered 204 is gone; no image of
the run is left ``queued``, ``saving``, ``importing`` or ``killed`` but those listed with
the reason (an aborted upload's, or one whose create or delete answer was an error); the
app workers have no upload thread left and no thread in the app's code (py-spy), and
Glance's stores, staging and cache and nginx's body buffers have no file more than before;
each worker's memory (those that lived through the run). Writes bench-results/chaos.json
(chaos-quick.json).
"""

import argparse
import base64
import hashlib
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import redis
import requests

from deploy import stack
from devcloud import cloud, postgres
from devcloud import config as c

from . import chaos_watch, load
from .common import direct_glance, keystone_session, write_results
from .transfer import workers_of

API = load.API
HUNG_SECONDS = 5.0
MEMORY_WARM_UP_SECONDS = 20
# Operations that need Glance (a namespace list may come from the cache).
NEEDS_GLANCE = {"list", "get", "create", "update", "properties", "upload", "download", "delete"}
FAULTS = (
    "worker-kill",
    "instance-stop",
    "watch-instance-stop",
    "redis-restart",
    "keystone-restart",
    "glance-restart",
    "postgres-restart",
    "aborted-uploads",
)
# The folders whose files an aborted upload could leave behind.
SCRATCH = [c.STATE / "images", c.STATE / "image-cache", stack.HOME / "nginx" / "client_body"]


def log(message: str) -> None:
    print(f"chaos: {message}", file=sys.stderr, flush=True)


class Answer(NamedTuple):
    start: float  # wall clock, as nginx's and gunicorn's logs have it
    end: float
    operation: str
    status: object  # "dropped" where no answer came
    retry_after: bool  # a 503 carried Retry-After
    request_id: str | None


class Tally(load.Tally):
    """load's tally, with each answer's time, whether a 503 carried Retry-After and the
    request id the client sent."""

    def __init__(self):
        super().__init__()
        self.answers: list[Answer] = []

    def record(self, operation, seconds, status, error, request_id=None, retry_after=False):
        super().record(operation, seconds, status, error, request_id, retry_after)
        end = time.time()
        with self.lock:
            self.answers.append(
                Answer(end - seconds, end, operation, status or "dropped", retry_after, request_id)
            )


class Client(load.Client):
    """load's client; what it was answered, for the checks in Glance after the run."""

    def __init__(self, *args, ledger: dict, stopping: threading.Event, **kwargs):
        super().__init__(*args, **kwargs)
        self.ledger, self.stopping, self.cycles = ledger, stopping, 0

    def call(self, operation, method, path, **kwargs):
        answer = super().call(operation, method, path, **kwargs)
        image_id = path.split("/")[1] if path.startswith("images/") else None
        if image_id or (operation == "create" and answer is not None and answer.status_code == 201):
            image_id = image_id or answer.json()["id"]
            self.ledger["events"].setdefault(image_id, []).append(
                (
                    round(time.time(), 2),
                    operation,
                    answer.status_code if answer is not None else None,
                )
            )
        if answer is not None and answer.status_code == 503:
            if not answer.headers.get("Retry-After"):
                self.tally.errors.append(f"{operation}: 503 without Retry-After")
        return answer

    def cycle(self, seed_ids: list[str]) -> None:
        """load's cycle, until ``stopping`` is set."""
        while not self.stopping.is_set():
            self.one_cycle(seed_ids)

    def keep(self, image_id: str, data: bytes, uploaded, downloaded) -> bool:
        """Note what was answered; keep one uploaded image in four, with its data."""
        self.cycles += 1
        if uploaded is None:
            self.ledger["reasons"][image_id] = "its upload got no answer"
            return False
        if uploaded.status_code not in (200, 204):
            self.ledger["reasons"][image_id] = f"its upload was answered {uploaded.status_code}"
            return False
        self.ledger["uploaded"][image_id] = hashlib.sha512(data).hexdigest()
        if downloaded is not None and downloaded.status_code == 200 and downloaded.content != data:
            self.tally.errors.append(f"download: other bytes than sent ({image_id})")
        if self.cycles % 4:
            return False
        self.ledger["kept"].add(image_id)  # for the check in Glance after the run
        return True

    def delete(self, image_id: str) -> None:
        answer = self.call("delete", "DELETE", f"images/{image_id}/")
        if answer is not None and answer.status_code == 204:
            self.ledger["deleted"].add(image_id)
        else:
            self.ledger["undeleted"].add(image_id)


# --- the faults -----------------------------------------------------------------------


def _wait(ready, timeout: float = 120, step: float = 0.05) -> float:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError("the part did not come back")
        time.sleep(step)
    return time.time()


def worker_kill(run) -> dict:
    master = run.servers[0].pid()
    victim = sorted(workers_of(master))[0]
    os.kill(victim, signal.SIGKILL)
    before = set(workers_of(master)) - {victim}
    back = _wait(lambda: set(workers_of(master)) - before - {victim})
    new = (set(workers_of(master)) - before).pop()
    return {
        "back": back,
        "first_success": lambda: run.first_in_access_log(0, back, pid=new),
        "detail": f"worker {victim} killed, {new} took its place",
    }


def instance_stop(run) -> dict:
    server = run.servers[1]
    server.stop()
    time.sleep(run.stop_seconds)
    server.start()
    back = _wait(server.answers)
    return {
        "back": back,
        "first_success": lambda: run.first_in_access_log(1, back),
        "detail": f"stopped {run.stop_seconds:.0f} s",
    }


def watch_instance_stop(run) -> dict:
    """The second asynchronous instance (waits and streams) stopped: its streams end, their
    clients come back through nginx with Last-Event-ID, its waits go to the other."""
    server = stack.watch_servers(2)[1]
    server.stop()
    time.sleep(run.stop_seconds)
    server.start()
    back = _wait(server.answers)
    return {
        "back": back,
        "first_success": lambda: back,
        "detail": f"stopped {run.stop_seconds:.0f} s",
    }


def redis_restart(run) -> dict:
    stack.stop_redis()
    stack.start_redis()
    back = time.time()
    client = redis.Redis.from_url(stack.redis_url())
    written = _wait(lambda: client.dbsize() > 0, step=0.02)
    return {"back": back, "first_success": lambda: written}


def keystone_restart(run) -> dict:
    keystone, _ = cloud.servers()
    tokens = [keystone_session().get_token() for _ in range(3)]  # never used by the API
    keystone.stop()
    tried = [_first_validation(token) for token in tokens[:2]] + [_sign_in()]
    keystone.start()
    keystone.wait()
    back = time.time()
    run.probes.extend(tried)

    def validated():
        while True:
            try:
                token = keystone_session().get_token()
            except Exception:  # Keystone still starting
                time.sleep(0.1)
                continue
            if _first_validation(token)["status"] == 200:
                return time.time()
            time.sleep(0.1)

    return {
        "back": back,
        "first_success": validated,
        "detail": "while it was down: "
        + ", ".join(
            f"{probe['what']} {probe['status']}{' (Retry-After)' if probe['retry_after'] else ''}"
            for probe in tried
        ),
    }


def _first_validation(token: str) -> dict:
    answer = requests.get(f"{API}/version/", headers={"X-Auth-Token": token}, timeout=60)
    return {
        "what": "new token",
        "status": answer.status_code,
        "retry_after": bool(answer.headers.get("Retry-After")),
    }


def _sign_in() -> dict:
    http = requests.Session()
    http.mount("http://", load.FromAddress("127.0.9.1"))
    base = stack.NGINX_URL
    http.get(f"{base}/api-auth/login/", timeout=60)
    answer = http.post(
        f"{base}/api-auth/login/",
        timeout=60,
        allow_redirects=False,
        data={
            "username": c.DEMO.username,
            "password": c.DEMO.password,
            "csrfmiddlewaretoken": http.cookies.get("csrftoken", ""),
        },
        headers={"Referer": f"{base}/api-auth/login/"},
    )
    return {
        "what": "sign-in",
        "status": answer.status_code,
        "retry_after": bool(answer.headers.get("Retry-After")),
    }


def glance_restart(run) -> dict:
    _, glance = cloud.servers()
    glance.stop()
    glance.start()
    glance.wait()
    back = time.time()
    return {"back": back, "first_success": lambda: run.first_glance_success(back)}


def postgres_restart(run) -> dict:
    postgres.stop(log)
    postgres.start(log)
    back = time.time()
    return {"back": back, "first_success": lambda: run.first_glance_success(back)}


def aborted_uploads(run) -> dict:
    threads = [threading.Thread(target=_abort_one, args=(run, i)) for i in range(run.aborting)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "back": time.time(),
        "first_success": lambda: None,
        "detail": f"{run.aborting} uploads broken off mid-body",
    }


def _abort_one(run, index: int) -> None:
    """Create an image and break its upload off after a quarter of its body."""
    kind = ("carried", "digest", "streamed", "carried", "digest-direct", "multipart")[index % 6]
    size, sent = 1 << 20, 256 << 10
    if kind == "multipart":
        name = f"load-{run.mark}-aborted-multipart-{index}"
        boundary = uuid.uuid4().hex
        fields = {
            "name": name,
            "disk_format": "raw",
            "container_format": "bare",
            "load_run": run.mark,
        }
        head = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in fields.items()
        )
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="data"; '
            'filename="x.raw"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        run.ledger["aborted_names"].add(name)
        break_off(
            stack.NGINX_PORT,
            "POST",
            "/api/glance/images/",
            run.token,
            f"multipart/form-data; boundary={boundary}",
            size,
            sent,
            head.encode(),
        )
        return
    created = requests.post(
        f"{API}/images/",
        headers={"X-Auth-Token": run.token},
        json={
            "name": f"load-{run.mark}-aborted-{index}",
            "source_type": "file-direct",
            "disk_format": "raw",
            "visibility": "private",
            "protected": False,
            "load_run": run.mark,
        },
        timeout=60,
    )
    if created.status_code != 201:
        run.tally.errors.append(f"aborted-uploads: create answered {created.status_code}")
        return
    image_id = created.json()["id"]
    run.ledger["aborted"].add(image_id)
    port = stack.NGINX_PORT if kind in ("carried", "digest") else stack.FIRST_APP_PORT
    # the digest of the whole body the client announced (it never sends all of it)
    digest = base64.b64encode(hashlib.sha512(os.urandom(size)).digest()).decode()
    break_off(
        port,
        "PUT",
        f"/api/glance/images/{image_id}/file/",
        run.token,
        "application/octet-stream",
        size,
        sent,
        headers={"Content-Digest": f"sha-512=:{digest}:"} if kind.startswith("digest") else {},
    )


def break_off(
    port: int,
    method: str,
    path: str,
    token: str,
    content_type: str,
    size: int,
    sent: int,
    head: bytes = b"",
    headers: dict | None = None,
) -> None:
    """Send a request that announces ``size`` bytes of body, send ``sent`` of them, and
    close the connection, as a client that goes away mid-upload."""
    more = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    with socket.create_connection((c.HOST, port), timeout=30) as sock:
        sock.sendall(
            (
                f"{method} {path} HTTP/1.1\r\nHost: {c.HOST}:{port}\r\n"
                f"X-Auth-Token: {token}\r\nContent-Type: {content_type}\r\n{more}"
                f"Content-Length: {size}\r\n\r\n"
            ).encode()
            + head
            + os.urandom(sent - len(head))
        )
        time.sleep(0.5)  # the body is on its way to Glance


APPLY = {
    "worker-kill": worker_kill,
    "instance-stop": instance_stop,
    "watch-instance-stop": watch_instance_stop,
    "redis-restart": redis_restart,
    "keystone-restart": keystone_restart,
    "glance-restart": glance_restart,
    "postgres-restart": postgres_restart,
    "aborted-uploads": aborted_uploads,
}


_ACCESS_LINE = re.compile(r"^<(\d+)> t=([\d.]+) (\d{3}) ")
# An error line of nginx's for a request an instance failed (refused, broke off, timed
# out), which counts towards that instance's max_fails: its time, and the instance's port.
_INSTANCE_FAILURE = re.compile(
    r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[error\] .*"
    r"(?:\) failed \(|upstream prematurely closed|upstream timed out).*"
    r'upstream: "http://[\d.]+:(\d+)/'
)


def until_nginx_forgets_failures(error_log: Path, offset: int, instances: set[int]) -> float:
    """The seconds until ``fail_timeout`` has passed since nginx's last failure on one of
    the ``instances`` (ports) that ``error_log`` names after ``offset``; 0 if it has.

    nginx keeps an instance out for ``fail_timeout`` after ``max_fails`` failures within
    it (a worker kill can break off 3 requests on one nginx worker), and counts failures
    for as long. A fault that began before then would meet an instance still out, or one
    failure short of it, and with both out nginx answers 502 to everything (``no live
    upstreams``): so each fault starts with both in, and its window measures it alone."""
    with open(error_log, "rb") as text:
        text.seek(offset)
        lines = text.read().decode(errors="replace").splitlines()
    times = [
        time.mktime(time.strptime(match[1], "%Y/%m/%d %H:%M:%S"))
        for match in map(_INSTANCE_FAILURE.match, lines)
        if match and int(match[2]) in instances
    ]
    # the log's times are whole seconds: one more
    return max(0.0, max(times, default=0) + stack.FAIL_TIMEOUT + 1 - time.time())


class Run:
    """One chaos run: its clients' tally and ledger, and what the faults need."""

    def __init__(self, clients: int, quick: bool):
        self.quick = quick
        self.clients = clients
        self.warm_up, self.settle = (4, 4) if quick else (20, 20)
        self.stop_seconds = 3 if quick else 20
        self.aborting = 8 if quick else 20
        self.mark = uuid.uuid4().hex[:8]
        self.tally = Tally()
        self.ledger = {
            "uploaded": {},
            "deleted": set(),
            "undeleted": set(),
            "reasons": {},
            "events": {},
            "kept": set(),
            "retried": {},
            "aborted": set(),
            "aborted_names": set(),
        }
        self.probes: list[dict] = []
        self.servers = stack.up(2)
        self.session = keystone_session()
        self.token = self.session.get_token()
        self.glance = direct_glance(self.session)
        self.offsets = [
            stack.access_log(i).stat().st_size if stack.access_log(i).exists() else 0
            for i in range(2)
        ]
        nginx_log = stack.HOME / "nginx" / "error.log"
        self.nginx_offset = nginx_log.stat().st_size if nginx_log.exists() else 0

    def wait_until_nginx_forgets_failures(self) -> float:
        """Sleep for :func:`until_nginx_forgets_failures`; returns the seconds slept."""
        instances = {stack.FIRST_APP_PORT + i for i in range(len(self.servers))}
        wait = until_nginx_forgets_failures(
            stack.HOME / "nginx" / "error.log", self.nginx_offset, instances
        )
        time.sleep(wait)
        return wait

    def first_in_access_log(
        self, index: int, since: float, pid: int | None = None, timeout: float = 60
    ) -> float | None:
        """When nginx took the first request after ``since`` that instance ``index`` (its
        worker ``pid``) answered with a 2xx."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(stack.access_log(index), "rb") as text:
                text.seek(self.offsets[index])
                lines = text.read().decode(errors="replace").splitlines()
            for line in lines:
                match = _ACCESS_LINE.match(line)
                if (
                    match
                    and float(match[2]) >= since
                    and match[3].startswith("2")
                    and (pid is None or int(match[1]) == pid)
                ):
                    return float(match[2])
            time.sleep(0.2)
        return None

    def first_glance_success(self, since: float, timeout: float = 60) -> float | None:
        """When the first client request that needed Glance, sent after ``since``, began
        of those answered with a 2xx."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.tally.lock:
                found = [
                    a.start
                    for a in self.tally.answers
                    if a.start >= since
                    and a.operation in NEEDS_GLANCE
                    and isinstance(a.status, int)
                    and 200 <= a.status < 300
                ]
            if found:
                return min(found)
            time.sleep(0.1)
        return None


def busy_threads(servers) -> list[str]:
    """The app workers' threads that are uploads (``upload-<image id>``) or inside the
    app's code, as py-spy sees them (after a run: none)."""
    spy = str(Path(sys.executable).with_name("py-spy"))
    found = []
    for server in servers:
        for pid in workers_of(server.pid()):
            dump = subprocess.run(
                [spy, "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=60
            ).stdout
            for thread in re.split(r"\n(?=Thread )", dump):
                if thread.startswith("Thread ") and (
                    '"upload-' in thread.splitlines()[0] or "glance_api/" in thread
                ):
                    found.append(f"{pid}: {thread.splitlines()[0]}")
    return found


def scratch_files() -> int:
    """Files in Glance's stores, staging and cache, and in nginx's body buffers."""
    return sum(
        1 for folder in SCRATCH if folder.exists() for path in folder.rglob("*") if path.is_file()
    )


def window_figures(run: Run, start: float, end: float) -> dict:
    """The answers that came within [start, end): each answer counts in one window only,
    the one it came in (a request in flight when a fault begins is that fault's)."""
    answers = [answer for answer in run.tally.answers if start <= answer.end < end]
    statuses = Counter(str(a.status) for a in answers)
    errors = Counter(
        f"{a.operation} {a.status}" for a in answers if a.status not in load.EXPECTED[a.operation]
    )
    reads = [a for a in answers if a.operation in ("list", "get", "namespaces", "download")]
    slow = [a for a in answers if a.end - a.start > HUNG_SECONDS]
    return {
        "answers": len(answers),
        "statuses": dict(statuses),
        "errors": dict(errors),
        "read_errors": sum(1 for a in reads if a.status not in load.EXPECTED[a.operation]),
        "namespaces_errors": sum(
            1 for a in answers if a.operation == "namespaces" and a.status != 200
        ),
        "503_without_retry_after": sum(1 for a in answers if a.status == 503 and not a.retry_after),
        # each request over HUNG_SECONDS, followed through the servers' logs by
        # where_the_time_went (after the run, once they are written)
        "slow_requests": [
            {
                "operation": a.operation,
                "status": a.status,
                "seconds": round(a.end - a.start, 2),
                "from_window_start_s": round(a.start - start, 2),
                "end_s": a.end,
                "request_id": a.request_id,
            }
            for a in slow
        ],
    }


def where_the_time_went(windows: dict) -> None:
    """Each slow request's lines in nginx's access log, the instances' (gunicorn's and the
    app's) and Glance's, found by its request id, and how much of its time the app spent
    waiting on Glance (the app's log line: ``glance_ms``). A request whose time beyond
    Glance's was over HUNG_SECONDS hung in the stack (``hung``); one that waited that long
    on Glance is counted apart (``slow_in_glance``): Glance's own time (its access log
    gives it too), such as its first answers while it restarts."""
    slow = [request for window in windows.values() for request in window["slow_requests"]]
    lines = []
    if slow:
        logs = [
            stack.HOME / "nginx" / "access.log",
            *(stack.access_log(i) for i in range(2)),
            *(server.log_file for server in stack.app_servers(2)),
            cloud.GLANCE_ACCESS_LOG,
        ]
        for path in logs:
            if path.exists():
                text = path.read_bytes().decode(errors="replace")
                lines += [(path.name, line) for line in text.splitlines()]
    for request in slow:
        trail = [(name, line) for name, line in lines if request["request_id"] in line]
        request["trail"] = [f"{name}: {line}" for name, line in trail]
        request["glance_s"] = round(
            sum(
                json.loads(line)["glance_ms"] / 1000
                for name, line in trail
                if name.startswith("stack-app-") and line.startswith("{")
            ),
            2,
        )
    for window in windows.values():
        hung = [r for r in window["slow_requests"] if r["seconds"] - r["glance_s"] > HUNG_SECONDS]
        window["hung"] = len(hung)
        window["longest_s"] = max((r["seconds"] for r in hung), default=0.0)
        window["slow_in_glance"] = len(window["slow_requests"]) - len(hung)


def checks_in_glance(run: Run) -> dict:
    """What Glance holds after the run, against what the clients were answered."""
    ledger, glance = run.ledger, run.glance
    for image_id in sorted(ledger["undeleted"]):  # deletes a fault cut off, again
        answer = requests.delete(
            f"{API}/images/{image_id}/", headers={"X-Auth-Token": run.token}, timeout=60
        )
        ledger["retried"][image_id] = answer.status_code
        if answer.status_code in (204, 404):
            ledger["undeleted"].discard(image_id)
            ledger["deleted"].add(image_id)
    lost, left, kept = [], [], 0
    for image_id, digest in ledger["uploaded"].items():
        if image_id not in ledger["kept"]:
            continue
        kept += 1
        try:
            image = glance.images.get(image_id)
        except Exception as exc:  # glanceclient's HTTPNotFound
            lost.append(f"{image_id}: upload answered 2xx, kept, now {type(exc).__name__}")
            continue
        if image["status"] != "active" or image.get("os_hash_value") != digest:
            lost.append(
                f"{image_id}: upload answered 2xx, now {image['status']}, "
                f"sha512 {'matches' if image.get('os_hash_value') == digest else 'differs'}"
                f"; answers: {ledger['events'].get(image_id)}"
            )
    for image_id in ledger["deleted"]:
        try:
            glance.images.get(image_id)
            lost.append(f"{image_id}: delete answered 204, still in Glance")
        except Exception as exc:  # glanceclient's HTTPNotFound: gone, as it should be
            if "404" not in str(getattr(exc, "code", "")) and type(exc).__name__ != "HTTPNotFound":
                raise
    run_images = list(glance.images.list(filters={"load_run": run.mark}))
    for image in run_images:
        if image["id"] in ledger["kept"]:
            continue  # checked above
        if image["id"] in ledger["aborted"]:
            reason = "its upload was broken off (aborted-uploads)"
            if image["status"] != "queued":
                lost.append(f"{image['id']}: a broken-off upload left it {image['status']}")
        elif image["name"] in ledger["aborted_names"]:
            reason = "its multipart create was broken off"
            lost.append(
                f"{image['id']}: a broken-off multipart create left it "
                f"({image['status']}): the app should have deleted it"
            )
        elif image["id"] in ledger["undeleted"]:
            answers = [
                status
                for _, operation, status in ledger["events"].get(image["id"], [])
                if operation == "delete"
            ]
            reason = (
                f"its delete was answered {answers} during a fault, and "
                f"{ledger['retried'].get(image['id'])} after the run"
            )
        else:
            reason = ledger["reasons"].get(image["id"]) or "its create answer never arrived"
        left.append({"id": image["id"], "status": image["status"], "reason": reason})
    for image in run_images:  # the run's images go
        try:
            glance.images.delete(image["id"])
        except Exception:  # already gone
            pass
    return {
        "kept_uploads_checked": kept,
        "deleted_checked": len(ledger["deleted"]),
        "lost": lost,
        "left": left,
        "aborted_images": len(ledger["aborted"]),
        "aborted_multipart_images_left": sum(
            1 for image in run_images if image["name"] in ledger["aborted_names"]
        ),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="8 clients, 4 s warm-up and settling, a 3 s instance stop",
    )
    parser.add_argument(
        "--faults", default=",".join(FAULTS), help="which faults, in order (comma-separated)"
    )
    args = parser.parse_args(argv)
    run = Run(8 if args.quick else args.clients, args.quick)
    faults = [name for name in args.faults.split(",") if name]
    seed_ids = [
        run.glance.images.create(
            name=f"load-seed-{run.mark}-{i}",
            disk_format="raw",
            container_format="bare",
            load_run=run.mark,
        )["id"]
        for i in range(5)
    ]
    for image_id in seed_ids:
        run.glance.images.upload(image_id, io.BytesIO(b"seed"))
    nginx_log = load.LogTail(stack.HOME / "nginx" / "error.log")
    app_logs = [load.LogTail(s.log_file) for s in run.servers + stack.watch_servers(2)]
    files_before = scratch_files()
    stopping = threading.Event()
    clients = [
        Client(
            i, run.token, run.mark, run.tally, load.EXPECTED, ledger=run.ledger, stopping=stopping
        )
        for i in range(run.clients)
    ]
    threads = [threading.Thread(target=client.cycle, args=(seed_ids,)) for client in clients]
    watchers = chaos_watch.Watchers(run.token, run.glance, seed_ids, stopping)
    started = time.time()
    for thread in threads:
        thread.start()
    watchers.start()
    # a worker's growth from 20 s after it appeared: one that replaces a killed or stopped
    # one first waits for nginx to send it requests (fail_timeout), then warms up (its
    # first requests' imports and caches: 20 to 30 MiB), which is no leak
    memory = load.MemorySampler(run.servers, max(run.warm_up, MEMORY_WARM_UP_SECONDS))
    time.sleep(run.warm_up)
    windows = {}
    moments = {}  # each fault's exact beginning and the time its part was back
    try:
        for name in faults:
            waited = run.wait_until_nginx_forgets_failures()
            log(f"{name}" + (f" (after {waited:.1f} s for nginx's fail_timeout)" if waited else ""))
            begun = time.time()
            info = APPLY[name](run)
            first = info["first_success"]()
            time.sleep(max(0.0, info["back"] + run.settle - time.time()))
            moments[name] = (begun, info["back"])
            windows[name] = {
                "at_s": round(begun - started, 1),
                "back_at_s": round(info["back"] - started, 1),
                "down_s": round(info["back"] - begun, 1),
                "back_to_first_success_s": (
                    round(first - info["back"], 2) if first is not None else None
                ),
                "detail": info.get("detail", ""),
                "waited_before_s": round(waited, 1),
                **window_figures(run, begun, info["back"] + run.settle),
            }
    finally:
        watchers.settle()
        stopping.set()
        for thread in threads:
            thread.join()
        watchers.join()
    ended = time.time()
    watching = watchers.results(started)
    growth = memory.growth()
    # the first fault's exact time (its at_s is rounded: an answer of its first moment,
    # a worker's 502, must not count in the warm-up too)
    first_fault = min([begun for begun, _ in moments.values()] or [ended])
    warm_up = window_figures(run, started, first_fault)  # before any fault
    where_the_time_went({**windows, "warm-up": warm_up})
    for name, window in windows.items():  # issue 26: back within 5 s of the part answering
        for request in window["slow_requests"]:
            request["answered_after_back_s"] = round(request["end_s"] - moments[name][1], 2)
    for image_id in seed_ids:
        run.glance.images.delete(image_id)
    glance_checks = checks_in_glance(run)
    time.sleep(2)
    leftovers = {"threads": busy_threads(run.servers), "new_files": scratch_files() - files_before}
    problems = load.server_problems(nginx_log, app_logs)
    timeline = Counter(int(a.end - started) for a in run.tally.answers)
    failing = Counter(
        int(a.end - started)
        for a in run.tally.answers
        if a.status not in load.EXPECTED[a.operation]
    )
    results = {
        "clients": run.clients,
        "quick": run.quick,
        "seconds": round(ended - started),
        "requests": len(run.tally.answers),
        "faults": windows,
        "warm_up": warm_up,
        "probes": run.probes,
        "glance": glance_checks,
        "leftovers": leftovers,
        "worker_memory": growth,
        "timeline": [
            [second, timeline[second], failing[second]]
            for second in range(int(ended - started) + 1)
        ],
        "watchers": watching,
        "error_samples": run.tally.errors[:30],
        "nginx_problems": len(problems["nginx"]),
        "nginx_samples": problems["nginx"][:10],
        "gunicorn_problems": len(problems["gunicorn"]),
        "gunicorn_samples": problems["gunicorn"][:10],
    }
    report(results)
    name = "chaos-quick" if run.quick else "chaos"
    if faults != list(FAULTS):  # some faults only: not the run the docs chart
        name += "-some"
    write_results(name, results)
    return results


def report(results: dict) -> None:
    print(
        f"\n{results['clients']} clients for {results['seconds']} s through nginx and two "
        f"instances, {results['requests']} requests; the faults one at a time:"
    )
    print(
        f"{'fault':<18} {'down s':>6} {'to 1st ok s':>11} {'answers':>8} {'errors':>7} "
        f"{'reads':>6} {'hung':>5} {'in Glance':>9}  errors by status"
    )
    for name, row in results["faults"].items():
        errors = " ".join(f"{k}:{v}" for k, v in sorted(row["errors"].items())) or "-"
        first = row["back_to_first_success_s"]
        print(
            f"{name:<18} {row['down_s']:>6} {first if first is not None else '-':>11} "
            f"{row['answers']:>8} {sum(row['errors'].values()):>7} {row['read_errors']:>6} "
            f"{row['hung']:>5} {row['slow_in_glance']:>9}  {errors}"
        )
        if row["detail"]:
            print(f"{'':<18} {row['detail']}")
        for request in row["slow_requests"]:
            print(
                f"{'':<18} over {HUNG_SECONDS:.0f} s: {request['operation']} "
                f"{request['status']} {request['seconds']} s ({request['glance_s']} s of it "
                f"waiting on Glance), {request['from_window_start_s']} s into the window"
            )
            for line in request.get("trail", []):
                print(f"{'':<22} {line}")
    print(f"warm-up (no fault): {sum(results['warm_up']['errors'].values())} errors")
    checks = results["glance"]
    print(
        f"in Glance: {checks['kept_uploads_checked']} kept uploads checked, "
        f"{checks['deleted_checked']} deletes checked, {len(checks['lost'])} lost, "
        f"{len(checks['left'])} left with a reason, {checks['aborted_images']} aborted "
        f"uploads' images, {checks['aborted_multipart_images_left']} aborted multipart "
        "creates' images left"
    )
    for line in checks["lost"][:10]:
        print(f"lost: {line}")
    for item in checks["left"][:10]:
        print(f"left: {item['id']} {item['status']}: {item['reason']}")
    print(
        f"left behind: {len(results['leftovers']['threads'])} busy threads, "
        f"{results['leftovers']['new_files']} new files"
    )
    for pid, row in results["worker_memory"].items():
        print(
            f"worker {pid}: {row['from_mib']} -> {row['to_mib']} MiB over {row['seconds']} s "
            f"({row['growth_mib']:+.1f}; target under 20)"
        )
    print(
        f"nginx's error log: {results['nginx_problems']} errors and warnings; gunicorn's "
        f"logs: {results['gunicorn_problems']}"
    )
    chaos_watch.report(results["watchers"])
    for error in results["error_samples"][:10]:
        print(f"error: {error}")


if __name__ == "__main__":
    main()

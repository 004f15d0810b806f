"""make chaos's waiters and streams (issue 35), beside its clients, through nginx.

A ticker changes one of the seed images every TICK_SECONDS (a property, through the
API) and notes each change's ``updated_at`` as Glance then holds it. Meanwhile:

- WAITERS clients, each from its own address, long-poll a seed image (``If-None-Match``
  and ``Prefer: wait=20``) and ask again as each answer comes, as a dashboard would;
- STREAMS clients read ``images/events/`` and, when a stream ends or breaks, come back
  after its ``retry:`` with ``Last-Event-ID``, as a browser's EventSource does.

After the run: every answer by status (a 503 while Glance or Keystone restarts is
expected; a 5xx otherwise is not), the waits that took longer than HUNG_SECONDS (hung),
each waiter's last answer against the image as Glance holds it (none may be left
behind), and the ticks each stream never announced (lost), with its reconnections.
"""

import json
import threading
import time
from collections import Counter

import requests

from deploy import stack
from devcloud import config as c

from . import load

API = load.API
TICK_SECONDS = 3
STREAMS_SETTLE_SECONDS = 6  # three rounds of WATCH_POLL_SECONDS
WAITERS = 6
STREAMS = 2
WAIT = 20
# A wait's answer later than this is hung: its WAIT; if the asynchronous instance it was
# on stopped, that instance's graceful stop (5 s) and the same wait again on the other
# instance, where nginx sends the GET; and a margin.
HUNG_SECONDS = 2 * WAIT + 5 + 10


class Watchers:
    def __init__(self, token: str, glance, seed_ids: list[str], stopping: threading.Event):
        self.token, self.glance, self.seed_ids, self.stopping = token, glance, seed_ids, stopping
        self.ticking = threading.Event()
        self.ticking.set()
        self.ticks: list[tuple[str, str]] = []  # (image id, updated_at) Glance held
        self.answers: Counter = Counter()
        self.odd: list[tuple[float, str]] = []  # (when, status) of answers but 200 and 304
        self.hung = 0
        self.last_seen: dict[int, tuple[str, str]] = {}  # waiter -> (image, updated_at)
        self.seen: list[set] = [set() for _ in range(STREAMS)]
        self.reconnections = [0] * STREAMS
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._tick)]
        self.threads += [threading.Thread(target=self._wait, args=(i,)) for i in range(WAITERS)]
        self.threads += [threading.Thread(target=self._stream, args=(i,)) for i in range(STREAMS)]

    def start(self):
        for thread in self.threads:
            thread.start()

    def join(self):
        for thread in self.threads:
            thread.join(HUNG_SECONDS + 5)

    def _http(self, address: str) -> requests.Session:
        http = requests.Session()
        http.mount("http://", load.FromAddress(address))
        return http

    def _tick(self):
        http = self._http("127.0.20.1")
        count = 0
        # the first change once the streams have their first round: one made before is in
        # what they start from, not a change they were there for
        self.stopping.wait(STREAMS_SETTLE_SECONDS)
        while self.ticking.is_set() and not self.stopping.wait(TICK_SECONDS):
            image_id = self.seed_ids[count % len(self.seed_ids)]
            count += 1
            try:
                answer = http.patch(
                    f"{API}/images/{image_id}/properties/",
                    json={"updated": {"x_chaos_tick": str(count)}},
                    headers={"X-Auth-Token": self.token},
                    timeout=30,
                )
                if answer.status_code == 204:
                    held = self.glance.images.get(image_id)["updated_at"]
                    with self.lock:
                        self.ticks.append((image_id, held))
            except Exception:  # noqa: BLE001 - a fault's window: the tick did not happen
                pass

    def _wait(self, index: int):
        http = self._http(f"127.0.21.{index + 1}")
        image_id = self.seed_ids[index % len(self.seed_ids)]
        url = f"{API}/images/{image_id}/"
        tag = "*none*"
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                answer = http.get(
                    url,
                    headers={
                        "X-Auth-Token": self.token,
                        "If-None-Match": tag,
                        "Prefer": f"wait={WAIT}",
                    },
                    timeout=HUNG_SECONDS + 30,
                )
                status = answer.status_code
            except requests.RequestException:
                status = "dropped"
                answer = None
            with self.lock:
                self.answers[status] += 1
                if status not in (200, 304):
                    self.odd.append((time.time(), str(status)))
                if time.monotonic() - started > HUNG_SECONDS:
                    self.hung += 1
            if answer is not None and status == 200:
                tag = answer.headers["ETag"]
                with self.lock:
                    self.last_seen[index] = (image_id, answer.json()["updated_at"])
            elif status != 304:
                time.sleep(1)

    def _stream(self, index: int):
        http = self._http(f"127.0.22.{index + 1}")
        last_id = None
        # the first stream starts on the asynchronous instance that watch-instance-stop
        # stops (then comes back through nginx, as any client would)
        url = f"http://{c.HOST}:{stack.FIRST_WATCH_PORT + 1}/api/glance" if index == 0 else API
        while not self.stopping.is_set():
            headers = {"X-Auth-Token": self.token, "Accept": "text/event-stream"}
            if last_id:
                headers["Last-Event-ID"] = last_id
            try:
                with http.get(
                    f"{url}/images/events/",
                    headers=headers,
                    stream=True,
                    timeout=(5, 30),
                ) as answer:
                    with self.lock:
                        self.answers[f"stream {answer.status_code}"] += 1
                        if answer.status_code != 200:
                            self.odd.append((time.time(), f"stream {answer.status_code}"))
                    event = {}
                    for raw in answer.iter_lines(chunk_size=1):
                        if self.stopping.is_set():
                            return
                        line = raw.decode()
                        if not line:
                            if "data" in event:
                                data = json.loads(event["data"])
                                last_id = event.get("id", last_id)
                                if "updated_at" in data:
                                    with self.lock:
                                        self.seen[index].add((data["id"], data["updated_at"]))
                            event = {}
                        elif ": " in line and not line.startswith(":"):
                            name, value = line.split(": ", 1)
                            event[name] = value
            except requests.RequestException:
                pass
            with self.lock:
                self.reconnections[index] += 1
            url = API
            time.sleep(3)  # the stream's retry:

    def settle(self) -> None:
        """The ticks stop; what the last one changed reaches every waiter and stream (the
        run's stop waits for this)."""
        self.ticking.clear()
        time.sleep(10)

    def results(self, started: float) -> dict:
        """What the watchers saw; their answers but 200 and 304 with the second of the run
        (``started``: its start) each came at, to set beside the faults' windows."""
        finals = {
            image_id: self.glance.images.get(image_id)["updated_at"] for image_id in self.seed_ids
        }
        behind = [
            f"waiter {i}: {image_id} at {seen}, Glance {finals[image_id]}"
            for i, (image_id, seen) in sorted(self.last_seen.items())
            if seen != finals[image_id]
        ]
        ticks = set(self.ticks)
        return {
            "waiters": WAITERS,
            "streams": STREAMS,
            "ticks": len(ticks),
            "answers": {str(k): v for k, v in sorted(self.answers.items(), key=str)},
            "odd_answers": [[round(when - started, 1), status] for when, status in self.odd][:40],
            "hung": self.hung,
            "waiters_behind": behind,
            "lost_per_stream": [len(ticks - seen) for seen in self.seen],
            "lost_samples": sorted(ticks - set.intersection(*self.seen))[:5] if self.seen else [],
            "reconnections": self.reconnections,
        }


def report(results: dict) -> None:
    print(
        f"watchers: {results['waiters']} waiters and {results['streams']} streams, "
        f"{results['ticks']} changes made; answers {results['answers']}; hung "
        f"{results['hung']}; waiters left behind {len(results['waiters_behind'])}; changes "
        f"a stream never announced {results['lost_per_stream']} (reconnections "
        f"{results['reconnections']})"
    )
    if results["odd_answers"]:
        print(f"watchers' other answers (second of the run, status): {results['odd_answers']}")
    for line in results["waiters_behind"][:5]:
        print(f"behind: {line}")
    for tick in results["lost_samples"]:
        print(f"not announced: {tick}")

"""Where the API's time goes for one path: pyinstrument in-process, or py-spy on a server.

    python -m benchmarks.profile /api/glance/images/<id>/ [--requests 300]
    python -m benchmarks.profile /api/glance/images/<id>/ --py-spy [--server granian]

In-process (the default), the path is requested ``--requests`` times through Django's
test client with the bench account's token, after a warm-up, and pyinstrument prints
the call tree: the CPU between the calls to Glance, which the tree shows as
``recv_into``. With ``--py-spy`` the API runs as in ``make bench`` (two workers) while
8 clients request the path for ``--seconds``, and ``py-spy record --gil`` samples the
workers: only the thread holding the GIL counts, so threads waiting for it are not
counted as busy. The functions on the most sampled stacks are printed, and the
collapsed stacks written to ``bench-results/profile-<worker>.txt``.
"""

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import requests

from devcloud import accounts, cloud
from devcloud import config as devcloud

from .common import (
    DEFAULT_SERVER,
    IN_PROCESS_SETTINGS,
    RESULTS,
    SERVERS,
    ApiServer,
    keystone_session,
)
from .run import run_clients
from .transfer import workers_of


def in_process(path: str, token: str, count: int) -> None:
    """The project's settings come from the environment: set for the profile, then put
    back, so that a process this one starts afterwards (a test's servers) gets its own."""
    saved = dict(os.environ)
    os.environ.update(IN_PROCESS_SETTINGS)
    os.environ.setdefault("DJANGO_SECRET_KEY", "profile-only")
    try:
        _profile(path, token, count)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _profile(path: str, token: str, count: int) -> None:
    import django
    from pyinstrument import Profiler

    django.setup()
    from django.test import Client

    client = Client(HTTP_X_AUTH_TOKEN=token)
    for _ in range(5):
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{response.status_code} for {path}: {response.content[:300]!r}")
    cpu = time.process_time()
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(count):
        client.get(path)
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False))
    print(
        f"{count} requests: {(time.process_time() - cpu) / count * 1000:.2f} ms of CPU each "
        "(profiler included)"
    )


def with_py_spy(path: str, token: str, seconds: float, server_name: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    py_spy = Path(sys.executable).with_name("py-spy")
    with ApiServer(server=server_name) as server:
        http = requests.Session()
        http.headers["X-Auth-Token"] = token
        url = f"{server.url}{path}"
        http.get(url).raise_for_status()
        workers = workers_of(server.process.pid)
        outputs = [RESULTS / f"profile-{index}.txt" for index in range(len(workers))]
        spies = [
            subprocess.Popen(
                [
                    str(py_spy),
                    "record",
                    "--gil",
                    "--pid",
                    str(pid),
                    "--format",
                    "raw",
                    "--duration",
                    str(int(seconds)),
                    "--output",
                    str(output),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
            )
            for output, pid in zip(outputs, workers, strict=True)
        ]
        clients = [requests.Session() for _ in range(8)]
        for client in clients:
            client.headers["X-Auth-Token"] = token
        tally = {"times": [], "errors": 0, "failures": [], "elapsed": 0.0}
        # 8 clients while py-spy samples (they keep calling until it is done)
        run_clients(lambda index: clients[index].get(url), len(clients), seconds + 1, tally)
        for spy in spies:
            spy.wait()
    summarize(outputs)


def summarize(outputs: list[Path], top: int = 25) -> None:
    """The functions holding the GIL most, counting each once per sampled stack."""
    inclusive, total = Counter(), 0
    for output in outputs:
        for line in output.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = {
                frame.split(" (")[0] + " (" + frame.split(" (")[-1].split(":")[0] + ")"
                for frame in stack.split(";")
            }
            total += int(count)
            for frame in frames:
                inclusive[frame] += int(count)
    print(
        f"{total} samples holding the GIL in {len(outputs)} workers; per function, the "
        "share of them in which it is on the stack:"
    )
    for frame, count in inclusive.most_common(top):
        print(f"  {count / total:6.1%}  {frame}")
    print(f"collapsed stacks (for a flame graph): {', '.join(str(o) for o in outputs)}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="e.g. /api/glance/version/")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--py-spy", action="store_true")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--server", choices=SERVERS, default=DEFAULT_SERVER)
    args = parser.parse_args(argv)
    cloud.up()
    accounts.register()
    token = keystone_session(devcloud.BENCH).get_token()
    if args.py_spy:
        with_py_spy(args.path, token, args.seconds, args.server)
    else:
        in_process(args.path, token, args.requests)


if __name__ == "__main__":
    main()

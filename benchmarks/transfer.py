"""Upload and download an image through the API (gunicorn) next to glanceclient directly.

    python -m benchmarks.transfer [--size-mib 1024] [--stack] [--digest]

``--stack``: through deploy/'s nginx and two instances, where nginx carries the bytes
(docs: production, "Image bytes through nginx"); the app workers' CPU per GiB is printed either way.
``--digest``: the API's uploads send the file's SHA-512 in ``Content-Digest`` (docs:
verified uploads), hashed before the clock starts, as a client has it before it sends;
through the stack such an upload goes through the app, which checks it.

Prints, for each direction, the server's peak resident memory above its idle level
(target: under 64 MiB) and the throughput next to a direct glanceclient transfer of the
same bytes in the same run (target: at least 0.8 of direct). The third direction is the
dashboard's legacy upload: a multipart create with the file second, as Horizon sends it,
with the peak size of the server's temporary folder (target: 0, nothing spooled).
"""

import argparse
import base64
import hashlib
import io
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests

from devcloud import cloud
from devcloud import config as devcloud

from .common import (
    DEFAULT_SERVER,
    SERVERS,
    ApiServer,
    direct_glance,
    keystone_session,
    write_results,
)

MIB = 1024 * 1024


def workers_of(master: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            pids.append(int(stat.parent.name))
    return pids


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


class PeakMemory:
    """Peak RSS of the servers' workers above what they held before (kernel's VmHWM);
    ``masters``: one gunicorn master's pid, or several."""

    def __init__(self, masters: int | list[int]):
        masters = masters if isinstance(masters, list) else [masters]
        self.pids = [pid for master in masters for pid in workers_of(master)]

    def __enter__(self):
        self.idle = {}
        for pid in self.pids:
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
            self.idle[pid] = memory_kib(pid, "VmRSS")
        return self

    def __exit__(self, *exc):
        self.above_idle_mib = max(
            (memory_kib(pid, "VmHWM") - self.idle[pid]) / 1024 for pid in self.pids
        )


def cpu_seconds(masters: list[int]) -> float:
    """User and system CPU the workers of these gunicorn masters have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for master in masters:
        for pid in workers_of(master):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


class Stack:
    """deploy/'s stack as the server: nginx carries the bytes, the app decides."""

    def __init__(self):
        from deploy import stack

        self.stack = stack

    def __enter__(self):
        self.servers = self.stack.up(2)
        self.url = self.stack.NGINX_URL
        self.masters = [server.pid() for server in self.servers]
        self.tmp = None
        return self

    def __exit__(self, *exc):
        pass  # left running, as make stack leaves it


class PeakFolderSize:
    """The most bytes a folder held (polled) while the block ran."""

    def __init__(self, folder: Path):
        self.folder, self.peak, self.done = folder, 0, threading.Event()

    def _poll(self):
        while not self.done.wait(0.05):
            size = sum(f.stat().st_size for f in self.folder.rglob("*") if f.is_file())
            self.peak = max(self.peak, size)

    def __enter__(self):
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


def dashboard_multipart(path: Path, name: str) -> tuple[str, "_Body"]:
    """The dashboard's legacy upload body (source_type, the file, the other fields, then
    ``$$originalJSON``): its content type, and the body to stream."""
    boundary = "----glance-api-bench"
    fields = {
        "is_copying": "false",
        "protected": "false",
        "min_disk": "0",
        "min_ram": "0",
        "container_format": "bare",
        "disk_format": "raw",
        "visibility": "private",
        "name": name,
    }
    typed = {"source_type": "file-legacy", "data": {}, **fields, "protected": False}

    def part(field: str, value: str) -> bytes:
        return (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"\r\n\r\n{value}\r\n'
        ).encode()

    head = (
        part("source_type", "file-legacy")
        + (
            f'--{boundary}\r\nContent-Disposition: form-data; name="data"; filename="image.raw"'
            "\r\nContent-Type: application/octet-stream\r\n\r\n"
        ).encode()
    )
    tail = (
        b"\r\n"
        + b"".join(part(k, v) for k, v in fields.items())
        + part("$$originalJSON", json.dumps(typed))
        + f"--{boundary}--\r\n".encode()
    )

    return f"multipart/form-data; boundary={boundary}", _Body(head, path, tail)


class _Body:
    """A file-like body with a length, which requests streams with a Content-Length."""

    def __init__(self, head: bytes, path: Path, tail: bytes):
        self.parts = [io.BytesIO(head), open(path, "rb"), io.BytesIO(tail)]  # noqa: SIM115
        self.length = len(head) + path.stat().st_size + len(tail)

    def __len__(self) -> int:
        return self.length

    def read(self, size: int = -1) -> bytes:
        while self.parts:
            chunk = self.parts[0].read(size)
            if chunk:
                return chunk
            self.parts.pop(0).close()
        return b""


def make_file(folder: str, size: int) -> Path:
    path = Path(folder) / "image.raw"
    block = os.urandom(MIB)
    with open(path, "wb") as out:
        for _ in range(size // MIB):
            out.write(block)
    return path


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument(
        "--runs",
        type=int,
        default=3,
        help="repeat each direction this many times (the range is printed)",
    )
    parser.add_argument("--server", choices=SERVERS, default=DEFAULT_SERVER)
    parser.add_argument(
        "--stack", action="store_true", help="through deploy/'s nginx, which carries the bytes"
    )
    parser.add_argument(
        "--digest", action="store_true", help="the API's uploads send Content-Digest (sha-512)"
    )
    args = parser.parse_args(argv)
    size = args.size_mib * MIB
    cloud.up()
    session = keystone_session()
    glance, token = direct_glance(session), session.get_token()
    http = requests.Session()
    http.headers["X-Auth-Token"] = token
    runs = []
    target = Stack() if args.stack else ApiServer(server=args.server)
    with tempfile.TemporaryDirectory() as folder, target as server:
        if not args.stack:
            server.masters = [server.process.pid]
        path = make_file(folder, size)
        digest = sha512_field(path) if args.digest else None
        http.get(f"{server.url}/api/glance/version/").raise_for_status()  # warm the workers
        for number in range(args.runs):
            runs.append(one_run(glance, http, server, path, size, number % 2 == 1, digest=digest))
    directions = ("upload", "download") if args.stack else ("upload", "download", "multipart")
    results = {direction: summary([run[direction] for run in runs]) for direction in directions}
    through = args.server
    if args.stack:
        from deploy import stack

        through = (
            "deploy/'s nginx, which carries the bytes"
            if stack.ACCEL
            else "deploy/'s nginx, the app streaming the bytes (STACK_ACCEL=0)"
        )
    if args.digest:
        through += ", uploads with Content-Digest"
    print(
        f"\n{args.size_mib} MiB image through the API ({through}) and directly "
        f"(glanceclient), {args.runs} runs: median [min-max]"
    )
    print(
        f"{'direction':<10} {'API MiB/s':>10} {'direct MiB/s':>13} {'ratio':>18} "
        f"{'peak RSS above idle':>24} {'app CPU s/GiB':>14}"
    )
    for direction, row in results.items():
        print(
            f"{direction:<10} {row['api_mib_s']:>10.1f} {row['direct_mib_s']:>13.1f} "
            f"{row['ratio']:>5.2f} [{row['ratio_min']:.2f}-{row['ratio_max']:.2f}] "
            f"{row['peak_rss_above_idle_mib']:>10.1f} MiB (max {row['peak_rss_max_mib']:.1f})"
            f" {row['app_cpu_s_per_gib']:>10.3f}"
        )
    if args.stack:
        print("targets through nginx: ratio >= 0.95, app CPU under 0.05 s per GiB")
        name = "transfer-stack" if stack.ACCEL else "transfer-stack-app-path"
        write_results(
            f"{name}-digest" if args.digest else name,
            {"size_mib": args.size_mib, "runs": runs, **results},
        )
        return results
    results["multipart"]["peak_temporary_files_mib"] = max(
        run["multipart"]["peak_temporary_files_mib"] for run in runs
    )
    print(
        "targets: ratio >= 0.9 for upload and download, peak RSS above idle < 64 MiB; "
        "multipart: the server's temporary files peaked at "
        f"{results['multipart']['peak_temporary_files_mib']:.1f} MiB "
        "(target: 0)"
    )
    write_results(
        "transfer-digest" if args.digest else "transfer",
        {"size_mib": args.size_mib, "server": args.server, "runs": runs, **results},
    )
    return results


def summary(rows: list[dict]) -> dict:
    """Median of each figure over the runs, with the ratio's range and the worst memory."""

    def median(key):
        return statistics.median(row[key] for row in rows)

    return {
        "api_mib_s": median("api_mib_s"),
        "direct_mib_s": median("direct_mib_s"),
        "ratio": median("ratio"),
        "ratio_min": min(row["ratio"] for row in rows),
        "ratio_max": max(row["ratio"] for row in rows),
        "peak_rss_above_idle_mib": median("peak_rss_above_idle_mib"),
        "peak_rss_max_mib": max(row["peak_rss_above_idle_mib"] for row in rows),
        "app_cpu_s_per_gib": median("app_cpu_s_per_gib"),
    }


def chunks(file):
    """The file a MiB at a time, sent chunked (no Content-Length), as glanceclient sends
    an upload: the same framing both ways. Glance reads a body with Content-Length more
    slowly (on 2026-12-06, straight to Glance: 122 MiB/s and 7.4 s of its CPU per GiB,
    against 146 MiB/s and 6.1 s chunked), and nginx passes the client's framing on."""
    yield from iter(lambda: file.read(MIB), b"")


def uncache(image_id: str) -> None:
    """Drop the image from Glance's image cache (the admin's to do), if it is there."""
    glance = direct_glance(keystone_session(devcloud.ADMIN))
    try:
        glance.http_client.delete(f"/v2/cache/{image_id}")
    except Exception:  # not cached, or no cache
        pass


def sha512_field(path: Path) -> str:
    """``Content-Digest`` of the file: its SHA-512 (RFC 9530)."""
    digest = hashlib.sha512()
    with open(path, "rb") as data:
        while chunk := data.read(MIB):
            digest.update(chunk)
    return f"sha-512=:{base64.b64encode(digest.digest()).decode()}:"


def one_run(
    glance,
    http,
    server,
    path: Path,
    size: int,
    api_first: bool = False,
    digest: str | None = None,
) -> dict:
    """Each direction once through the API and once directly, from and to the same file
    (the multipart create only where the app carries the bytes: ``server.tmp``);
    ``api_first``: the API's transfer before the direct one; ``digest``: the API's
    upload sends it in Content-Digest."""
    api = f"{server.url}/api/glance/images"
    made = []

    def new_image(label: str) -> str:
        image = glance.images.create(
            name=f"bench-transfer-{label}", disk_format="raw", container_format="bare"
        )
        made.append(image["id"])
        return image["id"]

    try:
        # Upload, each way once from the same file, in the order ``api_first`` says (runs
        # take turns). Glance's file store writes to this machine's disk, and an upload
        # that follows another one would wait on its dirty pages: they are flushed before
        # each. (Two uploads each way in A B B A order spread the runs wider here: 0.68 to
        # 1.30 of direct, the API slower in the runs where it went first and last.)
        cpu = {}

        def upload_direct():
            image_id = new_image("direct")
            with open(path, "rb") as data:
                os.sync()
                start = time.perf_counter()
                glance.images.upload(image_id, data, image_size=size)
                return time.perf_counter() - start

        def upload_api():
            image_id = new_image("api")
            with PeakMemory(server.masters) as memory, open(path, "rb") as data:
                os.sync()
                before = cpu_seconds(server.masters)
                start = time.perf_counter()
                response = http.put(
                    f"{api}/{image_id}/file/",
                    data=chunks(data),
                    headers={
                        "Content-Type": "application/octet-stream",
                        **({"Content-Digest": digest} if digest else {}),
                    },
                )
                seconds = time.perf_counter() - start
                cpu["upload"] = cpu_seconds(server.masters) - before
            response.raise_for_status()
            assert glance.images.get(image_id)["size"] == size
            return seconds, image_id, memory

        if api_first:
            (api_up, api_id, upload_memory), direct_up = upload_api(), upload_direct()
        else:
            direct_up, (api_up, api_id, upload_memory) = upload_direct(), upload_api()

        # Download the same image both ways, each from the store: not from Glance's image
        # cache, which the first download fills (its cache middleware). One untimed read
        # first, so that both find the store's file in the system's page cache: otherwise
        # whichever goes first reads the disk for both (1.65 against 0.53 of direct, by
        # order alone, on 2026-12-06).
        uncache(api_id)
        for _ in glance.images.data(api_id, do_checksum=False):
            pass

        def download_direct():
            uncache(api_id)
            start = time.perf_counter()
            got = sum(len(c) for c in glance.images.data(api_id, do_checksum=False))
            return time.perf_counter() - start, got

        def download_api():
            uncache(api_id)
            with PeakMemory(server.masters) as memory:
                before = cpu_seconds(server.masters)
                start = time.perf_counter()
                with http.get(f"{api}/{api_id}/file/", stream=True) as response:
                    response.raise_for_status()
                    got = sum(len(c) for c in response.iter_content(MIB))
                seconds = time.perf_counter() - start
                cpu["download"] = cpu_seconds(server.masters) - before
            return seconds, got, memory

        if api_first:
            (api_down, api_bytes, download_memory), (direct_down, direct_bytes) = (
                download_api(),
                download_direct(),
            )
        else:
            (direct_down, direct_bytes), (api_down, api_bytes, download_memory) = (
                download_direct(),
                download_api(),
            )
        assert api_bytes == direct_bytes == size
        if server.tmp is None:  # the stack: the multipart create is the app's, as before
            return _rows(
                size,
                {
                    "upload": (api_up, direct_up, upload_memory),
                    "download": (api_down, direct_down, download_memory),
                },
                cpu,
            )

        # The dashboard's legacy upload: a multipart create, its file second.
        content_type, body = dashboard_multipart(path, "bench-transfer-form")
        with PeakMemory(server.masters) as multipart_memory, PeakFolderSize(server.tmp) as spooled:
            before = cpu_seconds(server.masters)
            start = time.perf_counter()
            response = http.post(f"{api}/", data=body, headers={"Content-Type": content_type})
            api_multipart = time.perf_counter() - start
            cpu["multipart"] = cpu_seconds(server.masters) - before
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])
        assert response.json()["size"] == size
    finally:
        for image_id in made:
            glance.images.delete(image_id)

    run = _rows(
        size,
        {
            "upload": (api_up, direct_up, upload_memory),
            "download": (api_down, direct_down, download_memory),
            "multipart": (api_multipart, direct_up, multipart_memory),
        },
        cpu,
    )
    run["multipart"]["peak_temporary_files_mib"] = spooled.peak / MIB
    return run


def _rows(size: int, timings: dict, cpu: dict) -> dict:
    """Each direction's figures from (API seconds, direct seconds, its PeakMemory)."""
    mib, run = size / MIB, {}
    for direction, (api_s, direct_s, memory) in timings.items():
        run[direction] = {
            "api_mib_s": mib / api_s,
            "direct_mib_s": mib / direct_s,
            "ratio": direct_s / api_s,
            "peak_rss_above_idle_mib": memory.above_idle_mib,
            "app_cpu_s_per_gib": cpu[direction] / (size / (1024 * MIB)),
        }
    print(
        " ".join(
            f"{d} {r['ratio']:.2f} ({r['peak_rss_above_idle_mib']:.1f} MiB, "
            f"{r['app_cpu_s_per_gib']:.3f} s CPU/GiB)"
            for d, r in run.items()
        ),
        flush=True,
    )
    return run


if __name__ == "__main__":
    main()

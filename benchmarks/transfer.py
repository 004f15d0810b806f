"""Upload and download an image through the API (gunicorn) next to glanceclient directly.

    python -m benchmarks.transfer [--size-mib 1024]

Prints, for each direction, the server's peak resident memory above its idle level
(target: under 64 MiB) and the throughput next to a direct glanceclient transfer of the
same bytes in the same run (target: at least 0.8 of direct).
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import requests

from devcloud import cloud

from .common import ApiServer, direct_glance, keystone_session, write_results

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
    """Peak RSS of the server's workers above what they held before (kernel's VmHWM)."""

    def __init__(self, master: int):
        self.pids = workers_of(master)

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
    args = parser.parse_args(argv)
    size = args.size_mib * MIB
    cloud.up()
    session = keystone_session()
    glance, token = direct_glance(session), session.get_token()
    http = requests.Session()
    http.headers["X-Auth-Token"] = token
    made = []

    def new_image(label: str) -> str:
        image = glance.images.create(name=f"bench-transfer-{label}", disk_format="raw",
                                     container_format="bare")
        made.append(image["id"])
        return image["id"]

    results = {}
    with tempfile.TemporaryDirectory() as folder, ApiServer() as server:
        path = make_file(folder, size)
        api = f"{server.url}/api/glance/images"
        http.get(f"{server.url}/api/glance/version/").raise_for_status()  # warm the workers
        try:
            # Upload: direct first, then through the API, each from the same file.
            direct_id = new_image("direct")
            with open(path, "rb") as data:
                start = time.perf_counter()
                glance.images.upload(direct_id, data, image_size=size)
                direct_up = time.perf_counter() - start
            api_id = new_image("api")
            with PeakMemory(server.process.pid) as upload_memory, open(path, "rb") as data:
                start = time.perf_counter()
                response = http.put(f"{api}/{api_id}/file/", data=data,
                                    headers={"Content-Type": "application/octet-stream"})
                api_up = time.perf_counter() - start
            response.raise_for_status()
            assert response.json()["size"] == size

            # Download the same image both ways.
            start = time.perf_counter()
            direct_bytes = sum(len(c) for c in glance.images.data(api_id, do_checksum=False))
            direct_down = time.perf_counter() - start
            with PeakMemory(server.process.pid) as download_memory:
                start = time.perf_counter()
                with http.get(f"{api}/{api_id}/file/", stream=True) as response:
                    response.raise_for_status()
                    api_bytes = sum(len(c) for c in response.iter_content(MIB))
                api_down = time.perf_counter() - start
            assert api_bytes == direct_bytes == size
        finally:
            for image_id in made:
                glance.images.delete(image_id)

    for direction, api_s, direct_s, memory in (
        ("upload", api_up, direct_up, upload_memory),
        ("download", api_down, direct_down, download_memory),
    ):
        results[direction] = {
            "api_mib_s": args.size_mib / api_s,
            "direct_mib_s": args.size_mib / direct_s,
            "ratio": direct_s / api_s,
            "peak_rss_above_idle_mib": memory.above_idle_mib,
        }
    print(f"\n{args.size_mib} MiB image through the API (gunicorn) and directly (glanceclient)")
    print(f"{'direction':<10} {'API MiB/s':>10} {'direct MiB/s':>13} {'ratio':>7} "
          f"{'target':>8} {'peak RSS above idle':>20} {'target':>8}")
    for direction, row in results.items():
        print(f"{direction:<10} {row['api_mib_s']:>10.1f} {row['direct_mib_s']:>13.1f} "
              f"{row['ratio']:>7.2f} {'>= 0.8':>8} {row['peak_rss_above_idle_mib']:>16.1f} MiB "
              f"{'< 64':>8}")
    write_results("transfer", {"size_mib": args.size_mib, **results})
    return results


if __name__ == "__main__":
    main()

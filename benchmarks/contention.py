"""What image downloads cost the other clients, through deploy/'s stack.

    python -m benchmarks.contention [--size-mib 1024] [--seconds 20]

8 clients read one image's detail in a loop, first alone ("at rest"), then while 16
other clients each download a SIZE MiB image. Prints the readers' p50 and p99 in both,
their ratio (target: p99 under downloads at most twice the p99 at rest) and every error.
With ``STACK_ACCEL=0`` the stack's app streams the bytes itself (the app path), for the
figures beside it.
"""

import argparse
import io
import os
import statistics
import subprocess
import threading
import time

import requests

from deploy import stack

from .common import direct_glance, keystone_session, write_results

MIB = 1024 * 1024


def readers(url: str, token: str, seconds: float, count: int = 8) -> tuple[list, list]:
    """``count`` clients GET ``url`` in a loop for ``seconds``: latencies (s), errors."""
    latencies, errors, stop = [], [], time.monotonic() + seconds

    def loop():
        http = requests.Session()
        http.headers["X-Auth-Token"] = token
        while time.monotonic() < stop:
            start = time.perf_counter()
            try:
                answer = http.get(url, timeout=30)
                if answer.status_code != 200:
                    errors.append(answer.status_code)
            except requests.RequestException as exc:
                errors.append(type(exc).__name__)
            latencies.append(time.perf_counter() - start)

    threads = [threading.Thread(target=loop) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def downloader(url: str, token: str, errors: list, done: list, rate: str) -> None:
    """One download by curl (a process of its own: the readers' measurements share no
    interpreter with it), its bytes counted and dropped."""
    result = subprocess.run(
        [
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{size_download}",
            *(["--limit-rate", rate] if rate != "0" else []),
            "-H",
            f"X-Auth-Token: {token}",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    code, _, size = result.stdout.partition(" ")
    if result.returncode != 0 or code != "200":
        errors.append(f"curl {result.returncode}, HTTP {code}")
    else:
        done.append(int(size))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--downloads", type=int, default=16)
    parser.add_argument(
        "--rate",
        default="20M",
        help="each download's speed (curl's --limit-rate; 0: as fast as "
        "it goes): clients on links, not on this machine's loopback",
    )
    args = parser.parse_args(argv)
    stack.up(2)
    session = keystone_session()
    glance, token = direct_glance(session), session.get_token()
    api = f"{stack.NGINX_URL}/api/glance/images"
    big = glance.images.create(
        name="bench-contention-big", disk_format="raw", container_format="bare"
    )
    small = glance.images.create(
        name="bench-contention-small", disk_format="raw", container_format="bare"
    )
    try:
        block = os.urandom(MIB)

        class Blocks(io.RawIOBase):
            left = args.size_mib

            def read(self, size=-1):
                if not self.left:
                    return b""
                self.left -= 1
                return block

        glance.images.upload(big["id"], Blocks(), image_size=args.size_mib * MIB)
        detail = f"{api}/{small['id']}/"
        rest, rest_errors = readers(detail, token, args.seconds)
        errors, done = [], []
        downloads = [
            threading.Thread(
                target=downloader, args=(f"{api}/{big['id']}/file/", token, errors, done, args.rate)
            )
            for _ in range(args.downloads)
        ]
        for thread in downloads:
            thread.start()
        time.sleep(1)
        busy, busy_errors = readers(detail, token, args.seconds)
        still = sum(thread.is_alive() for thread in downloads)
        for thread in downloads:
            thread.join()
    finally:
        glance.images.delete(big["id"])
        glance.images.delete(small["id"])
    result = {
        "path": "nginx carries the bytes" if stack.ACCEL else "the app streams the bytes",
        "size_mib": args.size_mib,
        "downloads": args.downloads,
        "rate": args.rate,
        "downloads_running_at_the_end": still,
        "rest_p50_ms": statistics.median(rest) * 1000,
        "rest_p99_ms": percentile(rest, 0.99) * 1000,
        "busy_p50_ms": statistics.median(busy) * 1000,
        "busy_p99_ms": percentile(busy, 0.99) * 1000,
        "reads_at_rest": len(rest),
        "reads_under_downloads": len(busy),
        "errors": rest_errors + busy_errors + errors,
        "downloads_complete": sum(1 for n in done if n == args.size_mib * MIB),
    }
    result["p99_ratio"] = result["busy_p99_ms"] / result["rest_p99_ms"]
    print(
        f"\n{result['path']}: 8 readers of an image's detail, alone and beside "
        f"{args.downloads} downloads of {args.size_mib} MiB at {args.rate}B/s each "
        f"({still} still running at the end of the window)"
    )
    print(
        f"at rest:          p50 {result['rest_p50_ms']:.1f} ms, p99 "
        f"{result['rest_p99_ms']:.1f} ms ({len(rest)} reads)"
    )
    print(
        f"under downloads:  p50 {result['busy_p50_ms']:.1f} ms, p99 "
        f"{result['busy_p99_ms']:.1f} ms ({len(busy)} reads)"
    )
    print(
        f"p99 ratio {result['p99_ratio']:.2f} (target <= 2), errors {result['errors']}, "
        f"downloads complete {result['downloads_complete']}/{args.downloads}"
    )
    write_results(f"contention-{args.rate}" + ("" if stack.ACCEL else "-app-path"), result)
    return result


if __name__ == "__main__":
    main()

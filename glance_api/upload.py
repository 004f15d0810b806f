"""Upload an image with its digest checked end to end, against any deployment of the API.

    python -m glance_api.upload FILE --name NAME [--disk-format qcow2] [--api URL]

It hashes FILE (SHA-512), creates the image (``file-direct``), streams FILE to the upload
URL the create answers with, sending ``Content-Digest``, and prints the digest Glance
stored (``Repr-Digest``), which the API compared with the one sent. A mismatch is the
API's 400 ``digest_mismatch`` (the image is then deleted): the command says so and exits
with status 1.

The API's URL: ``--api``, else ``GLANCE_API_URL`` (e.g. ``https://host/api/glance``).
The token: ``OS_TOKEN`` (``openstack token issue -f value -c id``), else a password
sign-in with the usual ``OS_AUTH_URL``, ``OS_USERNAME``, ``OS_PASSWORD``,
``OS_PROJECT_NAME``, ``OS_USER_DOMAIN_NAME`` and ``OS_PROJECT_DOMAIN_NAME``
(keystoneauth). The token is sent in ``X-Auth-Token`` only, never printed.

The progress bar is rich's (``pip install 'glance-api[upload]'``; OpenStack's own
command-line stack, cliff and cmd2, already brings it into a release's venv); without
rich the command prints its progress in lines.
"""

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

import requests
from django.views.decorators.debug import sensitive_variables

from .dataplane import digests

CHUNK = 1024 * 1024


def sha512_of(path: Path, progress=None) -> bytes:
    digest = hashlib.sha512()
    with path.open("rb") as data:
        while chunk := data.read(CHUNK):
            digest.update(chunk)
            if progress is not None:
                progress(len(chunk))
    return digest.digest()


class Progress:
    """rich's progress bar where rich is installed, else a line every 10%."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        try:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )
            from rich.progress import Progress as RichProgress
        except ImportError:
            self.rich = None
        else:
            self.rich = RichProgress(
                "[progress.description]{task.description}",
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),  # stdout: the result alone
                disable=quiet,
                transient=False,
            )

    def __enter__(self):
        if self.rich is not None:
            self.rich.__enter__()
        return self

    def __exit__(self, *exc):
        if self.rich is not None:
            self.rich.__exit__(*exc)

    def task(self, description: str, total: int):
        """A callable that advances a new bar by its argument (bytes)."""
        if self.rich is not None:
            task = self.rich.add_task(description, total=total)
            return lambda n: self.rich.advance(task, n)
        state = {"done": 0, "said": -1}

        def advance(n: int) -> None:
            state["done"] += n
            tenth = state["done"] * 10 // max(total, 1)
            if tenth != state["said"] and not self.quiet:
                state["said"] = tenth
                print(f"{description}: {tenth * 10}%", file=sys.stderr)

        return advance


class Reader:
    """The file, read for the upload in chunks, each counted on the bar."""

    def __init__(self, path: Path, advance):
        self.file, self.advance = path.open("rb"), advance
        self.size = path.stat().st_size

    def __iter__(self):
        with self.file:
            while chunk := self.file.read(CHUNK):
                self.advance(len(chunk))
                yield chunk

    def __len__(self):  # requests sends a Content-Length (the API takes no chunked body)
        return self.size


@sensitive_variables()
def token_from_environment() -> str:
    if os.environ.get("OS_TOKEN"):
        return os.environ["OS_TOKEN"]
    from keystoneauth1 import session
    from keystoneauth1.identity import v3

    needed = ("OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME")
    missing = [name for name in needed if not os.environ.get(name)]
    if missing:
        raise SystemExit(f"No OS_TOKEN, and no password sign-in: {', '.join(missing)} unset.")
    auth = v3.Password(
        auth_url=os.environ["OS_AUTH_URL"],
        username=os.environ["OS_USERNAME"],
        password=os.environ["OS_PASSWORD"],
        project_name=os.environ["OS_PROJECT_NAME"],
        user_domain_name=os.environ.get("OS_USER_DOMAIN_NAME", "Default"),
        project_domain_name=os.environ.get("OS_PROJECT_DOMAIN_NAME", "Default"),
    )
    return session.Session(auth=auth).get_token()


def _fail(answer: requests.Response, what: str) -> SystemExit:
    try:
        body = answer.json()
        detail = body.get("detail") if isinstance(body, dict) else None
        detail = detail or body
    except ValueError:
        detail = answer.text[:500]
    return SystemExit(f"{what} failed ({answer.status_code}): {detail}")


@sensitive_variables()
def upload(args, token: str, out=sys.stdout) -> dict:
    """Create, upload with the digest, wait for active; the image as the API answers."""
    path = Path(args.file)
    size = path.stat().st_size
    api = args.api.rstrip("/")
    http = requests.Session()
    http.headers["X-Auth-Token"] = token
    with Progress(quiet=args.quiet) as progress:
        digest = sha512_of(path, progress.task("sha-512", size))
        created = http.post(
            f"{api}/images/",
            json={
                "name": args.name,
                "source_type": "file-direct",
                "disk_format": args.disk_format,
                "container_format": args.container_format,
                "visibility": args.visibility,
                "protected": False,
            },
            timeout=60,
        )
        if created.status_code != 201:
            raise _fail(created, "Creating the image")
        image = created.json()
        answer = requests.put(  # the upload URL is the credential: no token sent with it
            image["upload_url"],
            data=Reader(path, progress.task("upload", size)),
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Digest": digests.field("sha512", digest.hex()),
            },
            timeout=(60, args.timeout),
        )
    if answer.status_code not in (200, 204):
        raise _fail(answer, "The upload")
    image = wait_active(http, api, image["id"], args.timeout)
    # the API compared what Glance stored with the digest sent (its 200); where Glance
    # keeps SHA-512, the command compares it too
    stored = answer.headers.get("Repr-Digest") or digests.of_image(image)
    sent = digests.field("sha512", digest.hex())
    if stored is None or (stored.startswith("sha-512=") and stored != sent):
        raise SystemExit(f"Glance stored {stored}, not {sent}")
    print(f"{image['id']} active, {image['size']} bytes, verified {stored}", file=out)
    return image


@sensitive_variables()
def wait_active(http: requests.Session, api: str, image_id: str, timeout: float) -> dict:
    """The image once active: an upload's answer has it so already; else its long-poll."""
    deadline = time.monotonic() + timeout
    tag = None
    while True:
        headers = {"If-None-Match": tag, "Prefer": "wait=30"} if tag else {}
        answer = http.get(f"{api}/images/{image_id}/", headers=headers, timeout=90)
        if answer.status_code == 200:
            image, tag = answer.json(), answer.headers.get("ETag")
            if image["status"] == "active":
                return image
            if image["status"] in ("killed", "deleted", "deactivated"):
                raise SystemExit(f"The image is {image['status']}.")
        elif answer.status_code != 304:
            raise _fail(answer, "Reading the image")
        if time.monotonic() > deadline:
            raise SystemExit(f"The image {image_id} is not active after {timeout:.0f} s.")
        if not tag or "Preference-Applied" not in answer.headers:
            time.sleep(1)  # a server that does not wait: poll gently


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m glance_api.upload",
        description="Upload an image with its SHA-512 checked by the API against what "
        "Glance stored.",
    )
    p.add_argument("file", help="the image file")
    p.add_argument("--name", required=True, help="the image's name")
    p.add_argument("--disk-format", default="raw", help="qcow2, raw, iso, ... (default raw)")
    p.add_argument("--container-format", default="bare", help="(default bare)")
    p.add_argument(
        "--visibility", default="private", choices=["private", "shared", "community", "public"]
    )
    p.add_argument(
        "--api",
        default=os.environ.get("GLANCE_API_URL"),
        help="the API's URL, e.g. https://host/api/glance (default: GLANCE_API_URL)",
    )
    p.add_argument("--timeout", type=float, default=3600, help="seconds (default 3600)")
    p.add_argument("--quiet", action="store_true", help="no progress")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.api:
        raise SystemExit("No API URL: give --api or set GLANCE_API_URL.")
    if not Path(args.file).is_file():
        raise SystemExit(f"No such file: {args.file}")
    upload(args, token_from_environment())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m glance_api.upload`` (issue 37): creates the image, streams the file with its
SHA-512 in Content-Digest, waits until it is active and prints the digest Glance stored;
against the project under gunicorn (any deployment: also through the stack's nginx,
tests/test_stack_edges.py)."""

import base64
import hashlib
import os
import subprocess
import sys

import pytest
import requests

from benchmarks.common import ApiServer
from tests.helpers import API


@pytest.fixture(scope="module")
def server():
    with ApiServer() as running:
        yield running


def run_command(server, path, name, token, *more, block_rich=False):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("OS_") and key != "GLANCE_API_URL"
    }
    env.update(OS_TOKEN=token, GLANCE_API_URL=f"{server.url}{API}")
    argv = [sys.executable]
    if block_rich:  # as in a venv without rich
        argv += [
            "-c",
            "import sys, runpy; sys.modules['rich'] = None; "
            "runpy.run_module('glance_api.upload', run_name='__main__')",
        ]
    else:
        argv += ["-m", "glance_api.upload"]
    argv += [str(path), "--name", name, *more]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("block_rich", [False, True], ids=["rich", "without-rich"])
def test_the_command_uploads_verified_and_prints_the_stored_digest(
    block_rich, server, demo_token, tmp_path, glance_demo
):
    data = os.urandom(5 * 1024 * 1024 + 3)
    path = tmp_path / "disk.img"
    path.write_bytes(data)
    name = f"command-{os.urandom(4).hex()}"
    done = run_command(server, path, name, demo_token, block_rich=block_rich)
    images = list(glance_demo.images.list(filters={"name": name}))
    try:
        assert done.returncode == 0, done.stderr
        field = f"sha-512=:{base64.b64encode(hashlib.sha512(data).digest()).decode()}:"
        (image,) = images
        assert done.stdout.strip() == (f"{image['id']} active, {len(data)} bytes, verified {field}")
        assert image["status"] == "active"
        assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()
        assert demo_token not in done.stdout + done.stderr
        if block_rich:
            assert "upload: 100%" in done.stderr and "sha-512: 100%" in done.stderr
        else:  # rich's bars (on stderr), as drawn where the output is no terminal
            assert "━━━" in done.stderr and "sha-512" in done.stderr and "upload" in done.stderr
    finally:
        for image in images:
            glance_demo.images.delete(image["id"])


def test_the_command_says_what_is_missing(server, tmp_path):
    path = tmp_path / "disk.img"
    path.write_bytes(b"x")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.pop("GLANCE_API_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "glance_api.upload", str(path), "--name", "n"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "GLANCE_API_URL" in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "glance_api.upload", str(path), "--name", "n", "--api", "http://x"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "OS_AUTH_URL" in done.stderr


def test_a_refused_upload_exits_1_with_the_apis_message(server, demo_token, tmp_path):
    path = tmp_path / "disk.img"
    path.write_bytes(b"x" * 1000)
    done = run_command(server, path, "n", demo_token, "--disk-format", "not-a-format")
    assert done.returncode == 1
    assert "Creating the image failed (400)" in done.stderr and "disk_format" in done.stderr


class _ServerOn(ApiServer):
    """The project under gunicorn, pointed at another Glance (GLANCE_URL)."""

    def __init__(self, glance_url: str):
        super().__init__()
        self.glance_url = glance_url

    def env(self) -> dict:
        return {**super().env(), "GLANCE_API_GLANCE_URL": self.glance_url}


def test_against_a_glance_that_keeps_sha256_the_command_reports_what_it_stored(
    clouds, demo_token, tmp_path
):
    """The API checks the SHA-512 sent (the app hashes it, Glance keeps SHA-256) and
    answers Repr-Digest in Glance's algorithm: the command takes the API's verdict and
    prints that (it exited 1 on the differing algorithm before)."""
    from devcloud.variant import glance_variant

    data = os.urandom(1024 * 1024 + 5)
    path = tmp_path / "disk.img"
    path.write_bytes(data)
    with glance_variant("sha256", {"hashing_algorithm": "sha256"}) as url, _ServerOn(url) as api:
        done = run_command(api, path, f"command-sha256-{os.urandom(3).hex()}", demo_token)
        assert done.returncode == 0, done.stderr
        field = f"sha-256=:{base64.b64encode(hashlib.sha256(data).digest()).decode()}:"
        assert done.stdout.strip().endswith(f"bytes, verified {field}")
        image_id = done.stdout.split()[0]
        headers = {"X-Auth-Token": demo_token}
        assert requests.delete(f"{api.url}{API}/images/{image_id}/", headers=headers).ok

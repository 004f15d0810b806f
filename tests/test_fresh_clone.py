"""`make run` in a clone where a newcomer might put it: a directory of mode 700 (as root's
and most users' homes are) whose path has spaces, as root and as an ordinary user.

As root, PostgreSQL runs as its own user, which cannot enter such a directory: the dev cloud
keeps that cluster under /var/tmp instead. As an ordinary user (a user of its own, made
here when the tests run as root; else the tests' own user), everything runs as that user,
with Debian's python3 and nothing of root's: no pip cache, no sudo.

A clone installs its own venvs, dev cloud (on ports of its own) and sample images: about
two minutes as root, more as a user whose pip cache is empty.
"""

import hashlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from devcloud.config import RELEASE
from devcloud.ports import free_port
from devcloud.samples import TAG as SAMPLE_TAG

ROOT = Path(__file__).resolve().parent.parent


def first_answer(url: str, deadline: float, process: subprocess.Popen, log: Path) -> int:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"make run ended ({process.returncode}):\n{log.read_text(errors='replace')[-4000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return answer.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            time.sleep(2)
    raise AssertionError(f"no answer from {url}:\n{log.read_text(errors='replace')[-4000:]}")


NEWCOMER = "glance-api-newcomer"
# as root: root, then an ordinary user; as an ordinary user, that user
WHO = ["root", "ordinary user"] if os.geteuid() == 0 else ["ordinary user"]


@pytest.fixture
def newcomer():
    """An ordinary user with a home of mode 700, made for the test and removed after it;
    None when the tests already run as an ordinary user."""
    if os.geteuid() != 0:
        yield None
        return
    subprocess.run(["userdel", "-r", NEWCOMER], capture_output=True)  # a leftover
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", NEWCOMER], check=True)
    home = Path(pwd.getpwnam(NEWCOMER).pw_dir)
    home.chmod(0o700)
    try:
        yield home
    finally:
        subprocess.run(["pkill", "-KILL", "-u", NEWCOMER], capture_output=True)
        subprocess.run(["userdel", "-r", NEWCOMER], capture_output=True)


@pytest.mark.parametrize("who", WHO)
def test_make_run_answers_from_a_private_directory_whose_path_has_spaces(tmp_path, who, request):
    as_user: list[str] = []
    if who == "root" or os.geteuid() != 0:
        private = tmp_path / "a private dir"
        private.mkdir(mode=0o700)
    else:
        user_home = request.getfixturevalue("newcomer")
        private = user_home / "my projects"
        private.mkdir(mode=0o700)
        as_user = [shutil.which("runuser"), "-u", NEWCOMER, "--"]
    clone = private / "glance api"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    if as_user:
        shutil.chown(private, NEWCOMER, NEWCOMER)
        subprocess.run(["chown", "-R", f"{NEWCOMER}:{NEWCOMER}", str(clone)], check=True)
    # where the dev cloud keeps the clone's PostgreSQL cluster (devcloud.postgres.data_dir)
    home = clone / ".devcloud" / ("" if RELEASE.name == "newest" else RELEASE.name)
    outside = Path("/var/tmp") / (
        "glance-api-devcloud-" + hashlib.sha256(str(home).rstrip("/").encode()).hexdigest()[:12]
    )
    port = free_port()
    # an ordinary user's login environment: nothing of root's (its pyenv, venv, caches)
    base_env = (
        dict(os.environ)
        if not as_user
        else {
            "HOME": str(user_home),
            "USER": NEWCOMER,
            "LOGNAME": NEWCOMER,
            "LANG": "C.UTF-8",
            "PATH": "/usr/local/bin:/usr/bin:/bin",
        }
    )
    env = {
        **base_env,
        "PORT": str(port),
        # a dev cloud of its own beside the one the other tests use
        **{
            f"DEVCLOUD_{name}_PORT": str(free_port())
            for name in ("KEYSTONE", "GLANCE", "POSTGRES", "HORIZON", "HORIZON_DIRECT")
        },
    }
    # the venv's python is a symlink to this one: the set-up must leave it as it is
    python = Path(shutil.which("python3", path=env["PATH"])).resolve()
    python_mtime = python.stat().st_mtime_ns
    log = tmp_path / "make-run.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*as_user, "make", "run"],
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}/api/glance"
        assert first_answer(f"{base}/healthz/", time.monotonic() + 900, process, log) == 200
        auth = yaml.safe_load((home / "clouds.yaml").read_text())
        demo = auth["clouds"]["devcloud-demo"]["auth"]
        token_request = urllib.request.Request(
            f"{demo['auth_url']}/auth/tokens",
            method="POST",
            headers={"Content-Type": "application/json"},
            data=(
                b'{"auth": {"identity": {"methods": ["password"], "password": {"user": '
                b'{"name": "%s", "domain": {"name": "Default"}, "password": "%s"}}}, '
                b'"scope": {"project": {"name": "%s", "domain": {"name": "Default"}}}}}'
                % (
                    demo["username"].encode(),
                    demo["password"].encode(),
                    demo["project_name"].encode(),
                )
            ),
        )
        with urllib.request.urlopen(token_request, timeout=30) as answer:
            token = answer.headers["X-Subject-Token"]
        listing = urllib.request.Request(f"{base}/images/", headers={"X-Auth-Token": token})
        with urllib.request.urlopen(listing, timeout=30) as answer:
            assert answer.status == 200
            images = json.loads(answer.read())["items"]
        assert any(SAMPLE_TAG in image.get("tags", []) for image in images), images
        if who == "root":  # postgres runs as its own user, which cannot enter the clone
            assert (outside / "postgres" / "PG_VERSION").exists()
            assert f"{outside}/postgres" in log.read_text(errors="replace")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        subprocess.run([*as_user, "make", "clean"], cwd=clone, env=env, capture_output=True)
    assert not outside.exists()  # make clean drops it too
    assert python.stat().st_mtime_ns == python_mtime, f"make run touched {python}"

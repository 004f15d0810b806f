"""Debian's memcached on loopback, as OpenStack deployments give Horizon its cache and
sessions (Kolla-Ansible, OpenStack-Ansible and the distributions' packages).

Installed with apt (as root, or through sudo) when missing; started as a daemon on
``DEVCLOUD_MEMCACHED_PORT`` with the default 1 MiB item size, known by its pid file.
"""

import os
import shutil
import signal
import socket
import subprocess
import time

from . import config as c
from .process import apt_install

LOCATION = f"{c.HOST}:{c.MEMCACHED_PORT}"


def _pid_file():
    return c.RUN / "memcached.pid"


def ensure_installed(log) -> str:
    found = shutil.which("memcached") or shutil.which("memcached", path="/usr/sbin:/usr/bin")
    if found:
        return found
    apt_install(["memcached"], log)
    return shutil.which("memcached", path="/usr/sbin:/usr/bin")


def pid() -> int | None:
    try:
        number = int(_pid_file().read_text())
        os.kill(number, 0)
    except (OSError, ValueError):
        return None
    return number


def answers() -> bool:
    try:
        with socket.create_connection((c.HOST, c.MEMCACHED_PORT), timeout=1) as sock:
            sock.sendall(b"version\r\n")
            return sock.recv(64).startswith(b"VERSION")
    except OSError:
        return False


def start(log) -> None:
    if pid() and answers():
        return
    binary = ensure_installed(log)
    c.RUN.mkdir(parents=True, exist_ok=True)
    log(f"starting memcached on {LOCATION}")
    user = ["-u", "root"] if os.geteuid() == 0 else []  # it refuses root without -u
    subprocess.run(
        [
            binary,
            "-d",
            "-l",
            c.HOST,
            "-p",
            str(c.MEMCACHED_PORT),
            "-U",
            "0",
            "-m",
            "64",
            "-P",
            str(_pid_file()),
            *user,
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not answers():
        if time.monotonic() > deadline:
            raise RuntimeError(f"memcached did not answer on {LOCATION}")
        time.sleep(0.1)


def stop(log) -> bool:
    number = pid()
    if number is None:
        return False
    log(f"stopping memcached (pid {number})")
    os.kill(number, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while pid() is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    _pid_file().unlink(missing_ok=True)
    return True

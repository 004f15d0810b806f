"""The production set-up on loopback (``deploy/stack.py``): nginx in front of two gunicorn
instances that share nothing but Redis (plus Keystone and Glance)."""

import hashlib
import json
import os
import re
import socket
import threading
import time
import uuid

import pytest
import redis
import requests

from benchmarks import load
from benchmarks.transfer import PeakMemory
from deploy import stack
from devcloud import config as devcloud

API = "/api/glance"


@pytest.fixture(scope="module")
def instances(clouds):
    """The stack, started anew so that the instances serve this checkout's code."""
    stack.down()
    servers = stack.up(2)
    yield [stack.app_url(0), stack.app_url(1)]
    stack.down()


def signed_in(base: str) -> requests.Session:
    http = requests.Session()
    http.get(f"{base}/api-auth/login/").raise_for_status()
    answer = http.post(f"{base}/api-auth/login/", data={
        "username": devcloud.DEMO.username, "password": devcloud.DEMO.password,
        "csrfmiddlewaretoken": http.cookies["csrftoken"], "next": f"{API}/"},
        headers={"Referer": f"{base}/api-auth/login/"})
    answer.raise_for_status()
    assert "sessionid" in http.cookies
    return http


def log_line(server_index: int, request_id: str) -> dict:
    """The request log line an instance wrote for a request (its gunicorn log)."""
    log = devcloud.LOGS / f"stack-app-{server_index}.log"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if f'"request_id": "{request_id}"' in line:
                return json.loads(line[line.index("{"):])
        time.sleep(0.1)
    raise AssertionError(f"no log line for {request_id} in {log}")


def test_a_session_signed_in_on_one_instance_works_on_the_other(instances):
    http = signed_in(instances[0])
    for base in [*instances, *instances]:
        assert http.get(f"{base}{API}/images/", headers={"Accept": "application/json"}
                        ).status_code == 200, base
    # signing out on one instance ends the session on the other at once
    out = http.post(f"{instances[0]}/api-auth/logout/", allow_redirects=False,
                    headers={"X-CSRFToken": http.cookies["csrftoken"]})
    assert out.status_code == 302, out.text
    assert http.get(f"{instances[1]}{API}/images/").status_code == 401


def test_a_token_validated_by_one_instance_is_served_from_redis_by_the_other(instances,
                                                                            fresh_demo_token):
    headers = {"X-Auth-Token": fresh_demo_token}
    first = requests.get(f"{instances[0]}{API}/version/", headers=headers)
    second = requests.get(f"{instances[1]}{API}/version/", headers=headers)
    assert first.status_code == second.status_code == 200
    assert log_line(0, first.headers["X-OpenStack-Request-ID"])["keystone_calls"] == 1
    assert log_line(1, second.headers["X-OpenStack-Request-ID"])["keystone_calls"] == 0


def test_a_token_keystone_refuses_on_one_instance_is_refused_by_the_other(
        instances, demo_session, fresh_demo_token):
    headers = {"X-Auth-Token": fresh_demo_token}
    assert requests.get(f"{instances[1]}{API}/version/", headers=headers).status_code == 200
    demo_session.delete(f"{devcloud.KEYSTONE_URL}/auth/tokens",
                        headers={"X-Subject-Token": fresh_demo_token})
    # The shared validation expires before the second instance's own copy (as here, where
    # it is deleted), so the first instance asks Keystone, which refuses the token...
    token_key = "glance_api:token:" + hashlib.sha256(fresh_demo_token.encode()).hexdigest()
    redis.Redis.from_url(stack.REDIS_URL).delete(f":1:{token_key}")
    assert requests.get(f"{instances[0]}{API}/version/", headers=headers).status_code == 401
    # ...and the second instance, which still had it, refuses it on its next request.
    refused = requests.get(f"{instances[1]}{API}/version/", headers=headers)
    assert refused.status_code == 401
    assert log_line(1, refused.headers["X-OpenStack-Request-ID"])["keystone_calls"] == 1


def test_an_upload_url_made_on_one_instance_is_used_on_the_other(instances, demo_token,
                                                                  glance_demo):
    created = requests.post(f"{instances[0]}{API}/images/", json={
        "name": f"stack-{uuid.uuid4().hex[:6]}", "source_type": "file-direct",
        "disk_format": "raw", "visibility": "private", "protected": False},
        headers={"X-Auth-Token": demo_token}).json()
    try:
        url = created["upload_url"].replace(instances[0], instances[1])
        assert url.startswith(instances[1])
        data = os.urandom(300_000)
        put = requests.put(url, data=data, headers={"Content-Type": "application/octet-stream"})
        assert put.status_code == 200, put.text
        assert put.json()["os_hash_value"] == hashlib.sha512(data).hexdigest()
    finally:
        glance_demo.images.delete(created["id"])


def test_a_gib_round_trips_through_nginx_with_flat_memory(instances, demo_token, glance_demo,
                                                          tmp_path):
    headers = {"X-Auth-Token": demo_token}
    path, sent = tmp_path / "disk.raw", hashlib.sha512()
    with open(path, "wb") as out:  # 1 GiB, never all in this process's memory
        for _ in range(1024):
            block = os.urandom(1024 * 1024)
            sent.update(block)
            out.write(block)
    created = requests.post(f"{stack.NGINX_URL}{API}/images/", json={
        "name": f"stack-data-{uuid.uuid4().hex[:6]}", "source_type": "file-direct",
        "disk_format": "raw", "visibility": "private", "protected": False},
        headers=headers).json()
    masters = [server.pid() for server in stack.app_servers(2)]
    try:
        with PeakMemory(masters) as upload, open(path, "rb") as body:
            put = requests.put(f"{stack.NGINX_URL}{API}/images/{created['id']}/file/",
                               data=body, headers={**headers,
                                                   "Content-Type": "application/octet-stream"})
        assert put.status_code == 200, put.text
        assert put.json()["os_hash_value"] == sent.hexdigest()
        received = hashlib.sha512()
        with PeakMemory(masters) as download, requests.get(
                f"{stack.NGINX_URL}{API}/images/{created['id']}/file/", headers=headers,
                stream=True) as got:
            assert got.status_code == 200
            for chunk in got.iter_content(1024 * 1024):
                received.update(chunk)
        assert received.hexdigest() == sent.hexdigest()
        assert upload.above_idle_mib < 64 and download.above_idle_mib < 64, (
            upload.above_idle_mib, download.above_idle_mib)
    finally:
        glance_demo.images.delete(created["id"])


def test_without_redis_the_api_answers_and_recovers(instances, demo_token):
    headers = {"X-Auth-Token": demo_token}
    stack.stop_redis()
    try:
        for base in instances:  # validated with Keystone again, answered all the same
            answer = requests.get(f"{base}{API}/images/", headers=headers, timeout=30)
            assert answer.status_code == 200, answer.text
        ready = requests.get(f"{stack.NGINX_URL}{API}/readyz/").json()
        assert ready["checks"]["cache"] != "ok"
    finally:
        stack.start_redis()
    for base in instances:
        assert requests.get(f"{base}{API}/images/", headers=headers).status_code == 200
    assert requests.get(f"{stack.NGINX_URL}{API}/readyz/").json()["status"] == "ready"


def trickle(path: str, token: str, stop: threading.Event, closed: list) -> None:
    """Announce a large body, send one byte, then nothing: note when nginx closes it."""
    sock = socket.create_connection((devcloud.HOST, stack.NGINX_PORT))
    opened = time.monotonic()
    try:
        sock.sendall((f"PUT {path} HTTP/1.1\r\nHost: {devcloud.HOST}\r\nX-Auth-Token: {token}"
                      "\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000"
                      "\r\n\r\nx").encode())
        sock.settimeout(1)
        while not stop.is_set():
            try:
                if not sock.recv(4096):
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        closed.append(time.monotonic() - opened if not stop.is_set() else None)
    finally:
        sock.close()


def test_slow_clients_do_not_take_the_app_threads(instances, demo_token, make_image):
    images = [make_image(as_demo=True) for _ in range(2)]
    paths = [f"{API}/images/{images[i % 2]['id']}/file/" if i % 2 else f"{API}/version/"
             for i in range(40)]
    stop, closed = threading.Event(), []
    threads = [threading.Thread(target=trickle, args=(p, demo_token, stop, closed), daemon=True)
               for p in paths]
    for thread in threads:
        thread.start()
    time.sleep(1)
    try:
        for _ in range(5):  # other clients are answered at once meanwhile
            start = time.monotonic()
            answer = requests.get(f"{stack.NGINX_URL}{API}/images/",
                                  headers={"X-Auth-Token": demo_token}, timeout=10)
            assert answer.status_code == 200 and time.monotonic() - start < 1
        deadline = time.monotonic() + stack.CLIENT_TIMEOUT + 10
        while len(closed) < len(threads) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(closed) == len(threads), f"{len(threads) - len(closed)} still open"
        assert max(closed) < stack.CLIENT_TIMEOUT + 5
    finally:
        stop.set()


def test_the_nginx_configuration_is_valid(instances):
    conf = stack.HOME / "nginx" / "nginx.conf"
    out = stack.subprocess.run([stack._which("nginx"), "-t", "-p", str(conf.parent), "-c",
                                str(conf)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert re.search(r"proxy_request_buffering off", conf.read_text())


def test_the_quick_load_benchmark_loses_nothing(instances):
    results = load.main(["--quick"])
    assert results["errors"] == 0, results["error_samples"]
    assert results["left_in_glance"] == []
    assert set(results["operations"]) == set(load.EXPECTED)
    assert results["requests_per_s"] > 0 and results["worker_memory_mib"]

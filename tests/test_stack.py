"""The production set-up on loopback (``deploy/stack.py``): nginx in front of two gunicorn
instances that share nothing but Redis (plus Keystone and Glance)."""

import base64
import hashlib
import http.client
import http.server
import json
import os
import re
import socket
import struct
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
from tests.helpers import API, direct_create, log_line, signed_in


def test_a_session_signed_in_on_one_instance_works_on_the_other(instances):
    http = signed_in(instances[0])
    for base in [*instances, *instances]:
        assert (
            http.get(f"{base}{API}/images/", headers={"Accept": "application/json"}).status_code
            == 200
        ), base
    # signing out on one instance ends the session on the other at once
    out = http.post(
        f"{instances[0]}/api-auth/logout/",
        allow_redirects=False,
        headers={"X-CSRFToken": http.cookies["csrftoken"]},
    )
    assert out.status_code == 302, out.text
    assert http.get(f"{instances[1]}{API}/images/").status_code == 401


def test_a_token_validated_by_one_instance_is_served_from_redis_by_the_other(
    instances, fresh_demo_token
):
    headers = {"X-Auth-Token": fresh_demo_token}
    first = requests.get(f"{instances[0]}{API}/version/", headers=headers)
    second = requests.get(f"{instances[1]}{API}/version/", headers=headers)
    assert first.status_code == second.status_code == 200
    assert log_line(0, first.headers["X-OpenStack-Request-ID"])["keystone_calls"] == 1
    assert log_line(1, second.headers["X-OpenStack-Request-ID"])["keystone_calls"] == 0


def test_a_metadefs_write_on_one_instance_is_read_at_once_on_the_other(
    instances, admin_token, glance_admin
):
    """Both instances have the namespace list cached (through Redis); a namespace made
    through one is in the list the other gives next, and gone from it once deleted."""
    headers = {"X-Auth-Token": admin_token}
    name = f"TEST::Stack::{uuid.uuid4().hex[:8]}"

    def listed(base: str) -> bool:
        answer = requests.get(
            f"{base}{API}/metadefs/namespaces/",
            headers=headers,
            params={"resource_type": "OS::Glance::Image"},
        )
        assert answer.status_code == 200, answer.text
        return name in [n["namespace"] for n in answer.json()["items"]]

    assert not listed(instances[0]) and not listed(instances[1])  # cached on each
    made = requests.post(
        f"{instances[0]}{API}/metadefs/namespaces/",
        headers=headers,
        json={"namespace": name, "resource_type_associations": [{"name": "OS::Glance::Image"}]},
    )
    try:
        assert made.status_code == 201, made.text
        assert listed(instances[1]) and listed(instances[0])
        gone = requests.delete(f"{instances[1]}{API}/metadefs/namespaces/{name}/", headers=headers)
        assert gone.status_code == 204, gone.text
        assert not listed(instances[0]) and not listed(instances[1])
    finally:
        try:
            glance_admin.metadefs_namespace.delete(name)
        except Exception:  # deleted by the test
            pass


def test_a_token_keystone_refuses_on_one_instance_is_refused_by_the_other(
    instances, demo_session, fresh_demo_token
):
    headers = {"X-Auth-Token": fresh_demo_token}
    assert requests.get(f"{instances[1]}{API}/version/", headers=headers).status_code == 200
    demo_session.delete(
        f"{devcloud.KEYSTONE_URL}/auth/tokens", headers={"X-Subject-Token": fresh_demo_token}
    )
    # The shared validation expires before the second instance's own copy (as here, where
    # it is deleted), so the first instance asks Keystone, which refuses the token...
    token_key = "glance_api:token:" + hashlib.sha256(fresh_demo_token.encode()).hexdigest()
    redis.Redis.from_url(stack.redis_url()).delete(f":1:{token_key}")
    assert requests.get(f"{instances[0]}{API}/version/", headers=headers).status_code == 401
    # ...and the second instance, which still had it, refuses it on its next request,
    # without asking Keystone: the first one's mark in Redis says Keystone refused it.
    refused = requests.get(f"{instances[1]}{API}/version/", headers=headers)
    assert refused.status_code == 401
    assert log_line(1, refused.headers["X-OpenStack-Request-ID"])["keystone_calls"] == 0


def test_an_upload_url_made_on_one_instance_is_used_on_the_other(
    instances, demo_token, glance_demo
):
    created = requests.post(
        f"{instances[0]}{API}/images/",
        json=direct_create(f"stack-{uuid.uuid4().hex[:6]}"),
        headers={"X-Auth-Token": demo_token},
    ).json()
    try:
        url = created["upload_url"].replace(instances[0], instances[1])
        assert url.startswith(instances[1])
        data = os.urandom(300_000)
        put = requests.put(url, data=data, headers={"Content-Type": "application/octet-stream"})
        assert put.status_code == 200, put.text
        assert put.json()["os_hash_value"] == hashlib.sha512(data).hexdigest()
    finally:
        glance_demo.images.delete(created["id"])


def test_a_gib_round_trips_through_nginx_with_flat_memory(
    instances, demo_token, glance_demo, tmp_path
):
    headers = {"X-Auth-Token": demo_token}
    path, sent = tmp_path / "disk.raw", hashlib.sha512()
    with open(path, "wb") as out:  # 1 GiB, never all in this process's memory
        for _ in range(1024):
            block = os.urandom(1024 * 1024)
            sent.update(block)
            out.write(block)
    created = requests.post(
        f"{stack.NGINX_URL}{API}/images/",
        json=direct_create(f"stack-data-{uuid.uuid4().hex[:6]}"),
        headers=headers,
    ).json()
    masters = [server.pid() for server in stack.app_servers(2)]
    try:
        with PeakMemory(masters) as upload, open(path, "rb") as body:
            put = requests.put(
                f"{stack.NGINX_URL}{API}/images/{created['id']}/file/",
                data=body,
                headers={**headers, "Content-Type": "application/octet-stream"},
            )
        assert put.status_code == 204, put.text  # nginx carried it: Glance's answer
        assert glance_demo.images.get(created["id"])["os_hash_value"] == sent.hexdigest()
        received = hashlib.sha512()
        with (
            PeakMemory(masters) as download,
            requests.get(
                f"{stack.NGINX_URL}{API}/images/{created['id']}/file/", headers=headers, stream=True
            ) as got,
        ):
            assert got.status_code == 200
            chunks = got.iter_content(1024 * 1024)
            received.update(next(chunks))
            # nginx carries the bytes: the app answered the download and holds no thread
            # for it while its first MiB is only just read (its request log line is out)
            request_id = got.headers["X-OpenStack-Request-ID"]
            line = next(
                log_line(i, request_id)
                for i in (0, 1)
                if request_id in (devcloud.LOGS / f"stack-app-{i}.log").read_text(errors="replace")
            )
            assert line["status"] == 200 and line["duration_ms"] < 1000, line
            for chunk in chunks:
                received.update(chunk)
        assert received.hexdigest() == sent.hexdigest()
        assert upload.above_idle_mib < 64 and download.above_idle_mib < 64, (
            upload.above_idle_mib,
            download.above_idle_mib,
        )
        # the same GiB with its digest (issue 37): through the app, which checks it,
        # streamed with flat memory too
        verified = requests.post(
            f"{stack.NGINX_URL}{API}/images/",
            json=direct_create(f"stack-digest-{uuid.uuid4().hex[:6]}"),
            headers=headers,
        ).json()
        field = f"sha-512=:{base64.b64encode(sent.digest()).decode()}:"
        with PeakMemory(masters) as checked, open(path, "rb") as body:
            put = requests.put(
                f"{stack.NGINX_URL}{API}/images/{verified['id']}/file/",
                data=body,
                headers={
                    **headers,
                    "Content-Type": "application/octet-stream",
                    "Content-Digest": field,
                },
            )
        glance_demo.images.delete(verified["id"])
        assert put.status_code == 200 and put.headers["Repr-Digest"] == field, put.text
        assert checked.above_idle_mib < 64, checked.above_idle_mib
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
        sock.sendall(
            (
                f"PUT {path} HTTP/1.1\r\nHost: {devcloud.HOST}\r\nX-Auth-Token: {token}"
                "\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000"
                "\r\n\r\nx"
            ).encode()
        )
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
    paths = [
        f"{API}/images/{images[i % 2]['id']}/file/" if i % 2 else f"{API}/version/"
        for i in range(40)
    ]
    stop, closed = threading.Event(), []
    threads = [
        threading.Thread(target=trickle, args=(p, demo_token, stop, closed), daemon=True)
        for p in paths
    ]
    for thread in threads:
        thread.start()
    time.sleep(1)
    try:
        for _ in range(5):  # other clients are answered at once meanwhile
            start = time.monotonic()
            answer = requests.get(
                f"{stack.NGINX_URL}{API}/images/", headers={"X-Auth-Token": demo_token}, timeout=10
            )
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
    out = stack.subprocess.run(
        [stack._which("nginx"), "-t", "-p", str(conf.parent), "-c", str(conf)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert re.search(r"proxy_request_buffering off", conf.read_text())


def test_the_quick_load_benchmark_loses_nothing(instances):
    results = load.main(["--quick"])
    assert results["errors"] == 0, results["error_samples"]
    assert results["nginx_problems"] == results["gunicorn_problems"] == 0, (
        results["nginx_samples"],
        results["gunicorn_samples"],
    )
    assert results["left_in_glance"] == []
    assert set(results["operations"]) == set(load.EXPECTED)
    assert results["requests_per_s"] > 0 and results["worker_memory_mib"]


def _keeps_the_connection(
    port: int, method: str, path: str, body: bytes, headers: dict, expected: int
) -> None:
    """``method path`` with ``body`` straight to an instance (no nginx) is answered
    ``expected`` without the app reading the body; the connection then carries the next
    request, as the answer's ``Connection: keep-alive`` promised."""
    conn = http.client.HTTPConnection(devcloud.HOST, port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={**headers, "Content-Length": str(len(body))})
        answer = conn.getresponse()
        answer.read()
        assert answer.status == expected
        assert answer.getheader("Connection") == "keep-alive"
        sock = conn.sock
        time.sleep(0.5)  # time for the server to close it, if it were to
        conn.request("GET", f"{API}/healthz/")
        assert conn.sock is sock
        second = conn.getresponse()  # RemoteDisconnected if the server closed it
        assert second.status == 200 and second.read() == b'{"status":"ok"}'
    finally:
        conn.close()


@pytest.mark.parametrize("size", [64 * 1024, 1024 * 1024])
def test_an_upload_answered_before_its_body_is_read_keeps_the_connection(
    instances, size, demo_token, make_image
):
    """Issue 21: gunicorn reads at most 64 KiB of a body the app left unread, then closes the
    connection after an answer that said keep-alive; nginx, which keeps its connections to
    the instances, sent the next request down it and answered 502. The app reads the rest."""
    image = make_image(as_demo=True, data=b"has data already")
    _keeps_the_connection(
        stack.FIRST_APP_PORT,
        "PUT",
        f"{API}/images/{image['id']}/file/",
        os.urandom(size),
        {"X-Auth-Token": demo_token, "Content-Type": "application/octet-stream"},
        409,
    )


def test_a_json_body_refused_before_it_is_read_keeps_the_connection(instances):
    body = json.dumps({"name": "x" * 200_000}).encode()
    _keeps_the_connection(
        stack.FIRST_APP_PORT,
        "POST",
        f"{API}/images/",
        body,
        {"X-Auth-Token": "not-a-token", "Content-Type": "application/json"},
        401,
    )
    _keeps_the_connection(
        stack.FIRST_APP_PORT,
        "PUT",
        "/no-such-page/",
        body,
        {"Content-Type": "application/json"},
        404,
    )


def test_a_trickled_body_the_answer_does_not_need_holds_the_thread_for_drain_seconds_at_most(
    instances, demo_token, make_image
):
    image = make_image(as_demo=True, data=b"has data already")
    sock = socket.create_connection((devcloud.HOST, stack.FIRST_APP_PORT))
    try:
        sock.sendall(
            (
                f"PUT {API}/images/{image['id']}/file/ HTTP/1.1\r\nHost: {devcloud.HOST}"
                f"\r\nX-Auth-Token: {demo_token}\r\nContent-Type: application/octet-stream"
                "\r\nContent-Length: 1000000\r\n\r\nx"
            ).encode()
        )
        start = time.monotonic()
        sock.settimeout(30)
        answer = sock.recv(4096)
        waited = time.monotonic() - start
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 409 ")
    seconds = 5  # the app's default DRAIN_SECONDS
    assert seconds - 1 < waited < seconds + 3, waited


def test_a_tight_loop_through_nginx_loses_nothing(instances):
    """Issue 21's shape for 5 s: no think time, 64 KiB uploads, some answered 409. Before the
    fix nginx answered 502 to part of every such run (an instance taken out, then both)."""
    results = load.main(["--tight", "--clients", "20", "--seconds", "5"])
    assert results["server_errors"] == 0, results["error_samples"]
    assert results["errors"] == 0, results["error_samples"]
    assert results["nginx_problems"] == 0, results["nginx_samples"]
    assert results["gunicorn_problems"] == 0, results["gunicorn_samples"]
    assert results["operations"]["upload"]["statuses"].get("409"), "no upload answered early"
    assert results["left_in_glance"] == []


# The multipart create's fields (the dashboard's legacy upload; requests puts the file last).
MULTIPART_FIELDS = {
    "source_type": "file-legacy",
    "name": "stack-multipart",
    "disk_format": "raw",
    "container_format": "bare",
    "visibility": "private",
    "protected": "false",
}


class Trickle:
    """Uploads that announce a large body, send one byte and wait: they hold their places
    in nginx's limit of image data at a time (from 127.0.0.1)."""

    def __init__(self, paths: list[str], token: str):
        self.sockets = []
        for path in paths:
            sock = socket.create_connection((devcloud.HOST, stack.NGINX_PORT))
            sock.sendall(
                (
                    f"PUT {path} HTTP/1.1\r\nHost: {devcloud.HOST}\r\n"
                    f"X-Auth-Token: {token}\r\nContent-Type: application/octet-stream\r\n"
                    "Content-Length: 1000000\r\n\r\nx"
                ).encode()
            )
            self.sockets.append(sock)
        time.sleep(0.5)

    def close(self):
        for sock in self.sockets:
            sock.close()


def test_only_image_data_counts_against_the_per_address_limit(
    instances, demo_token, admin_token, make_image, glance_demo
):
    headers = {"X-Auth-Token": demo_token}
    queued = [make_image(as_demo=True) for _ in range(stack.UPLOAD_CONNECTIONS + 1)]
    trickle = Trickle([f"{API}/images/{image['id']}/file/" for image in queued[:-1]], demo_token)
    created = []
    try:
        # one more upload from the same address: 429, with Retry-After and a JSON detail
        refused = requests.put(
            f"{stack.NGINX_URL}{API}/images/{queued[-1]['id']}/file/",
            data=b"x" * 1000,
            headers={**headers, "Content-Type": "application/octet-stream"},
        )
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == str(stack.RETRY_AFTER)
        assert "uploads at a time" in refused.json()["detail"]
        multipart = requests.post(
            f"{stack.NGINX_URL}{API}/images/",
            headers=headers,
            data=MULTIPART_FIELDS,
            files={"data": ("disk.raw", b"y" * 1000)},
        )
        assert multipart.status_code == 429
        # JSON creates, updates and reads from that address are not uploads
        for _ in range(3):
            answer = requests.post(
                f"{stack.NGINX_URL}{API}/images/",
                headers=headers,
                json=direct_create("stack-json-create", container_format="bare"),
            )
            assert answer.status_code == 201, answer.text
            created.append(answer.json()["id"])
        assert (
            requests.get(
                f"{stack.NGINX_URL}{API}/images/{queued[-1]['id']}/file/", headers=headers
            ).status_code
            == 204
        )
        # another address is not limited by nginx (another user: the app limits uploads
        # per user too, and demo has UPLOADS_PER_USER running)
        other = requests.Session()
        other.mount("http://", load.FromAddress("127.0.0.2"))
        put = other.put(
            f"{stack.NGINX_URL}{API}/images/{queued[-1]['id']}/file/",
            data=b"z" * 1000,
            headers={"X-Auth-Token": admin_token, "Content-Type": "application/octet-stream"},
        )
        assert put.status_code == 204, put.text  # nginx carried it: Glance's answer
    finally:
        trickle.close()
        for image_id in created:
            glance_demo.images.delete(image_id)


def test_the_multipart_create_streams_through_nginx_and_a_large_json_body_does_not(
    instances, demo_token, glance_demo
):
    headers = {"X-Auth-Token": demo_token}
    data = os.urandom(3 * 1024 * 1024)  # above the 1 MiB of an ordinary request
    answer = requests.post(
        f"{stack.NGINX_URL}{API}/images/",
        headers=headers,
        data=MULTIPART_FIELDS,
        files={"data": ("disk.raw", data)},
    )
    assert answer.status_code == 201, answer.text
    try:
        image = glance_demo.images.get(answer.json()["id"])
        assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()
    finally:
        glance_demo.images.delete(answer.json()["id"])
    too_large = requests.post(
        f"{stack.NGINX_URL}{API}/images/", headers=headers, json={"name": "x" * (2 * 1024 * 1024)}
    )
    assert too_large.status_code == 413


# --- issue 23: what the second security review found in the production set-up ----------


def test_a_direct_upload_through_nginx_keeps_its_port(instances, demo_token, glance_demo):
    """The upload URL a file-direct create answers with through nginx names nginx's port
    (nginx passes the Host the client sent, port included): with ``Host $host`` it was
    http://127.0.0.1/..., port 80, where whatever listens would get the secret and the
    bytes."""
    created = requests.post(
        f"{stack.NGINX_URL}{API}/images/",
        json=direct_create(f"stack-port-{uuid.uuid4().hex[:6]}"),
        headers={"X-Auth-Token": demo_token},
    )
    assert created.status_code == 201, created.text
    created = created.json()
    try:
        assert created["upload_url"].startswith(f"{stack.NGINX_URL}{API}/uploads/")
        data = os.urandom(100_000)
        put = requests.put(
            created["upload_url"], data=data, headers={"Content-Type": "application/octet-stream"}
        )
        assert put.status_code == 204, put.text  # nginx carried it: Glance's answer
        assert (
            glance_demo.images.get(created["id"])["os_hash_value"]
            == hashlib.sha512(data).hexdigest()
        )
        secret = created["upload_url"].rstrip("/").rsplit("/", 1)[1]
        access_log = stack.HOME / "nginx" / "access.log"
        assert f"{API}/uploads/<secret>/" in access_log.read_text()
        assert secret not in access_log.read_text()
    finally:
        glance_demo.images.delete(created["id"])


def test_redis_wants_the_stacks_user_and_password(instances):
    anonymous = redis.Redis(host=devcloud.HOST, port=stack.REDIS_PORT)
    with pytest.raises(redis.exceptions.AuthenticationError):
        anonymous.get("anything")
    guessing = redis.Redis.from_url(f"redis://default:guess@{devcloud.HOST}:{stack.REDIS_PORT}/0")
    with pytest.raises((redis.exceptions.AuthenticationError, redis.exceptions.ResponseError)):
        guessing.get("anything")
    assert redis.Redis.from_url(stack.redis_url()).ping()
    assert oct((stack.HOME / "redis-password").stat().st_mode)[-3:] == "600"
    assert stack.redis_password() not in " ".join(
        open(f"/proc/{int((stack.HOME / 'redis.pid').read_text())}/cmdline").read().split("\0")
    )


def test_nginx_names_no_version(instances):
    answer = requests.get(f"{stack.NGINX_URL}/no-such-path-at-all")
    assert answer.headers.get("Server") == "nginx"


@pytest.fixture
def nginx_with(instances):
    """nginx reloaded with other values of its configuration, then as it was (waited
    for: the reload takes effect as the old workers finish, and a test that followed at
    once met the old configuration's upstreams)."""
    yield lambda **values: stack.start_nginx(len(instances), **values)
    stack.start_nginx(len(instances))
    answered = []
    eventually(
        lambda: (
            answered.append(requests.get(f"{stack.NGINX_URL}{API}/healthz/").status_code == 200)
            or answered[-5:] == [True] * 5
        )
    )


def eventually(check, timeout: float = 30):
    """``check()``'s value once it is true (nginx's reload takes effect as its old workers
    finish)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_readyz_answers_only_the_allowed_addresses(nginx_with):
    assert requests.get(f"{stack.NGINX_URL}{API}/readyz/").status_code == 200
    nginx_with(readyz_allow=["192.0.2.1"])
    assert eventually(lambda: requests.get(f"{stack.NGINX_URL}{API}/readyz/").status_code == 403)
    refused = requests.get(f"{stack.NGINX_URL}{API}/readyz/")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert requests.get(f"{stack.NGINX_URL}{API}/healthz/").status_code == 200


def test_a_client_over_the_request_rate_gets_429_with_retry_after(nginx_with, demo_token):
    nginx_with(api_rate=5)
    answers = []

    def limited():  # 20 requests at once, until the reloaded nginx limits them
        answers.extend(
            requests.get(f"{stack.NGINX_URL}{API}/version/", headers={"X-Auth-Token": demo_token})
            for _ in range(20)
        )
        return any(answer.status_code == 429 for answer in answers)

    eventually(limited)
    statuses = [answer.status_code for answer in answers]
    assert 200 in statuses and 429 in statuses, statuses
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert refused.headers["Retry-After"] == str(stack.RETRY_AFTER)
    assert refused.json()["code"] == "throttled"
    other = requests.Session()
    other.mount("http://", load.FromAddress("127.0.0.2"))
    assert other.get(f"{stack.NGINX_URL}{API}/healthz/").status_code == 200


def test_password_sign_ins_are_limited_per_address(instances):
    statuses = []
    for _ in range(12):
        http = requests.Session()
        http.mount("http://", load.FromAddress("127.0.0.3"))  # no other test's address
        http.get(f"{stack.NGINX_URL}/api-auth/login/")
        statuses.append(
            http.post(
                f"{stack.NGINX_URL}/api-auth/login/",
                data={
                    "username": f"nobody-{uuid.uuid4().hex[:6]}",
                    "password": "a guess",
                    "csrfmiddlewaretoken": http.cookies.get("csrftoken", ""),
                },
                headers={"Referer": f"{stack.NGINX_URL}/api-auth/login/"},
            ).status_code
        )
    assert 429 in statuses and statuses[0] == 200, statuses


class _BreakingInstance:
    """An instance that reads each request's head and breaks the connection off without
    answering, as one whose worker is killed mid-request does; ``seen`` lists the
    methods it read."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.seen: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            with connection:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    head += chunk
                if head:
                    self.seen.append(head.split(b" ", 1)[0].decode())
                connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )  # a reset, as a dead process's

    def close(self):
        self.sock.close()


def test_nginx_sends_reads_to_the_other_instance_and_never_a_put_or_delete(nginx_with, demo_token):
    """Issue 26: a read an instance broke off goes to the other one; a PUT or DELETE does
    not (nginx takes both for idempotent: the instance may have carried it out)."""
    breaking = _BreakingInstance()
    real = f"{devcloud.HOST}:{stack.FIRST_APP_PORT}"
    log = stack.access_log(0)
    nginx_with(upstreams=[f"127.0.0.1:{breaking.port} max_fails=0", f"{real} max_fails=0"])
    headers = {"X-Auth-Token": demo_token}
    missing = f"{stack.NGINX_URL}{API}/images/{uuid.uuid4()}/"
    try:
        # the reloaded nginx's workers are in place once a read reaches the breaking one
        eventually(lambda: requests.get(f"{stack.NGINX_URL}{API}/healthz/").ok and breaking.seen)
        start = log.stat().st_size
        answers = {"GET": [], "DELETE": [], "PUT": []}
        seen_before = len(breaking.seen)
        # each nginx worker has its own round robin: until the breaking instance has had
        # some of each (30 rounds at most)
        for _ in range(30):
            answers["GET"].append(
                requests.get(f"{stack.NGINX_URL}{API}/version/", headers=headers).status_code
            )
            answers["DELETE"].append(requests.delete(missing, headers=headers).status_code)
            answers["PUT"].append(requests.put(missing + "tags/t/", headers=headers).status_code)
            had = breaking.seen[seen_before:]
            if {"GET", "DELETE", "PUT"} <= set(had) and len(answers["GET"]) >= 4:
                break
        broken = breaking.seen[seen_before:]
        with open(log, "rb") as text:
            text.seek(start)
            served = [line.split()[-1] for line in text.read().decode().splitlines()]
    finally:
        breaking.close()
    rounds = len(answers["GET"])
    assert broken.count("GET") >= 1, broken
    assert answers["GET"] == [200] * rounds  # each one the breaking instance had went on
    for method in ("DELETE", "PUT"):
        assert broken.count(method) >= 1, broken  # the round robin gave it some of each
        # those it broke off were answered 502, and never sent to the real instance
        assert answers[method].count(502) == broken.count(method), (method, answers)
        assert served.count(method) == rounds - broken.count(method), (method, served)
        assert set(answers[method]) <= {404, 502}, answers


def test_where_nginx_cannot_reach_glance_a_carried_transfer_is_a_503_with_retry_after(
    nginx_with, demo_token, make_image, closed_port
):
    """Issue 26: the app checked the download (and the upload) with Glance, then nginx
    finds Glance gone (a restart): as the app answers, a 503 with Retry-After."""
    image = make_image(as_demo=True, data=b"x" * 1000)
    queued = make_image(as_demo=True)
    nginx_with(glance=f"127.0.0.1:{closed_port}")
    headers = {"X-Auth-Token": demo_token}
    base = f"{stack.NGINX_URL}{API}/images"
    answers = []
    eventually(
        lambda: (
            answers.append(requests.get(f"{base}/{image['id']}/file/", headers=headers))
            or answers[-1].status_code == 503
        )
    )
    download = answers[-1]
    assert download.status_code == 503, download.text
    assert download.headers["Retry-After"] == "5"
    assert download.json()["code"] == "service_unavailable"
    upload = requests.put(
        f"{base}/{queued['id']}/file/",
        data=b"y" * 1000,
        headers={**headers, "Content-Type": "application/octet-stream"},
    )
    assert upload.status_code == 503, upload.text
    assert upload.headers["Retry-After"] == "5"


class _RefusingInstance(http.server.BaseHTTPRequestHandler):
    """An instance whose upload authorization refuses as the app does when Glance cannot
    answer: 403, with the client's status, body and Retry-After."""

    protocol_version = "HTTP/1.1"

    def do_PUT(self):
        self.send_response(403)
        self.send_header("X-Refusal-Status", "503")
        self.send_header(
            "X-Refusal-Body", '{"detail": "Glance is unreachable.", "code": "service_unavailable"}'
        )
        self.send_header("Retry-After", "5")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT

    def log_message(self, *args):
        pass


def test_an_upload_refusal_carries_the_apps_retry_after(nginx_with, demo_token):
    """Issue 26: during a Glance restart, carried uploads were 503s without Retry-After."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RefusingInstance)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    nginx_with(upstreams=[f"127.0.0.1:{server.server_address[1]}"])
    url = f"{stack.NGINX_URL}{API}/images/{uuid.uuid4()}/file/"
    try:
        answers = []
        eventually(
            lambda: (
                answers.append(
                    requests.put(url, data=b"x" * 100, headers={"X-Auth-Token": demo_token})
                )
                or answers[-1].status_code == 503
            )
        )
    finally:
        server.shutdown()
        server.server_close()
    refused = answers[-1]
    assert refused.status_code == 503, refused.text
    assert refused.json()["code"] == "service_unavailable"
    assert refused.headers["Retry-After"] == "5"


def test_uploads_broken_off_mid_body_leave_no_thread_file_or_image(
    instances, demo_token, glance_demo
):
    """Issue 26: clients that go away mid-upload, on each path (nginx carrying the body to
    Glance, an instance streaming it, the multipart create): Glance keeps the image
    ``queued`` (the multipart create's is deleted by the app, which made it), and no
    upload thread, thread in the app's code, or file in Glance's stores and cache or
    nginx's buffers is left (py-spy reads the workers' threads)."""
    from benchmarks import chaos

    servers = stack.app_servers(2)
    files = chaos.scratch_files()
    mark = uuid.uuid4().hex[:8]
    queued = []
    for index in range(4):
        created = requests.post(
            f"{stack.NGINX_URL}{API}/images/",
            json=direct_create(f"broken-off-{mark}-{index}", broken_off=mark),
            headers={"X-Auth-Token": demo_token},
        )
        assert created.status_code == 201, created.text
        queued.append(created.json()["id"])
        port = stack.NGINX_PORT if index % 2 else stack.FIRST_APP_PORT  # carried, streamed
        chaos.break_off(
            port,
            "PUT",
            f"{API}/images/{queued[-1]}/file/",
            demo_token,
            "application/octet-stream",
            1 << 20,
            256 << 10,
        )
    boundary = uuid.uuid4().hex
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in {
            "name": f"broken-off-{mark}-multipart",
            "disk_format": "raw",
            "container_format": "bare",
            "broken_off": mark,
        }.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="data"; filename="x"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    for port in (stack.NGINX_PORT, stack.FIRST_APP_PORT):
        chaos.break_off(
            port,
            "POST",
            f"{API}/images/",
            demo_token,
            f"multipart/form-data; boundary={boundary}",
            1 << 20,
            256 << 10,
            head.encode(),
        )

    def settled():
        images = list(glance_demo.images.list(filters={"broken_off": mark}))
        return (
            sorted(image["id"] for image in images) == sorted(queued)
            and all(image["status"] == "queued" for image in images)
            and not chaos.busy_threads(servers)
        )

    try:
        assert eventually(settled, timeout=60), (
            [(i["id"], i["status"]) for i in glance_demo.images.list(filters={"broken_off": mark})],
            chaos.busy_threads(servers),
        )
        assert chaos.scratch_files() <= files
    finally:
        for image in glance_demo.images.list(filters={"broken_off": mark}):
            glance_demo.images.delete(image["id"])


def test_the_quick_chaos_run_meets_the_targets(instances):
    """Issue 26's targets, on make chaos's quick run (benchmarks/chaos.py): each fault
    under load, measured in its own window."""
    from benchmarks import chaos

    results = chaos.main(["--quick"])
    faults = results["faults"]
    assert list(faults) == list(chaos.FAULTS)
    assert results["warm_up"]["errors"] == {}
    for name, row in faults.items():
        # none hung in the stack: each request over 5 s is followed through the servers'
        # logs by its request id, and what it waited on Glance is Glance's time (printed,
        # with its trail); where Glance or its database restarted, those are answered
        # within 5 s of Glance answering again (its first answers after a start are slow)
        assert row["hung"] == 0, (name, row["slow_requests"])
        if name in ("glance-restart", "postgres-restart"):
            for request in row["slow_requests"]:
                assert request["answered_after_back_s"] <= 5, (name, request)
        assert row["namespaces_errors"] == 0, (name, row)
        assert row["503_without_retry_after"] == 0, (name, row)
    # reads go to the other instance; writes the broken one had are 502s, never sent twice
    for name in ("worker-kill", "instance-stop"):
        assert faults[name]["read_errors"] == 0, faults[name]
        assert set(faults[name]["statuses"]) <= {"200", "201", "204", "502"}, faults[name]
    for name in ("redis-restart", "keystone-restart", "aborted-uploads"):
        assert faults[name]["errors"] == {}, faults[name]
    assert results["probes"] and all(
        probe["status"] == 503 and probe["retry_after"] for probe in results["probes"]
    ), results["probes"]
    for name in ("glance-restart", "postgres-restart"):
        assert set(faults[name]["statuses"]) <= {"200", "201", "204", "503"}, faults[name]
        assert faults[name]["back_to_first_success_s"] <= 5, faults[name]
    for name in ("worker-kill", "instance-stop", "redis-restart", "keystone-restart"):
        assert faults[name]["back_to_first_success_s"] is not None, faults[name]
    checks = results["glance"]
    assert checks["lost"] == [] and checks["kept_uploads_checked"] > 0
    assert checks["aborted_multipart_images_left"] == 0
    # left, with the reason: aborted uploads' images (queued), and any whose create answer
    # or delete answer was lost to a fault
    assert all(
        item["status"] == "queued" or "during a fault" in item["reason"] for item in checks["left"]
    ), checks["left"]
    assert results["leftovers"] == {
        "threads": [],
        "new_files": min(0, results["leftovers"]["new_files"]),
    }
    assert all(row["growth_mib"] < 20 for row in results["worker_memory"].values())
    assert not [line for line in results["gunicorn_samples"] if "Traceback" in line]
    # waiters and streams through every fault (issue 35): none hung or left behind, no
    # change unannounced; the stream on the stopped asynchronous instance came back
    watching = results["watchers"]
    assert watching["ticks"] > 0 and watching["hung"] == 0, watching
    assert watching["waiters_behind"] == [], watching
    assert watching["lost_per_stream"] == [0] * watching["streams"], watching
    assert set(watching["answers"]) <= {"200", "304", "503", "stream 200", "stream 503"}, watching
    assert watching["reconnections"][0] >= 1, watching

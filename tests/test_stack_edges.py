"""The data plane's edges through the stack's own nginx, two instances and Redis
(``deploy/``): upload URLs in nginx's logs and limits, nginx's own routes, malformed
headers (the third security review, issue 32; the app's part of each finding is with its
resource's tests, as docs/security.md lists them)."""

import base64
import hashlib
import itertools
import os
import subprocess
import sys
import time
import uuid

import pytest
import redis
import requests

from benchmarks import load
from deploy import stack
from devcloud import config as devcloud
from tests.helpers import API, direct_create
from tests.test_stack import eventually, nginx_with  # noqa: F401  (a fixture)

OCTETS = {"Content-Type": "application/octet-stream"}
# An upload nginx carries is Glance's 204; where Glance does not inspect uploads itself
# (before API 2.17: 2024.1) a bare image's goes through the app, which answers 200.
UPLOADED = (200, 204)
NGINX_LOGS = (stack.HOME / "nginx" / "access.log", stack.HOME / "nginx" / "error.log")


def _from(address: str) -> requests.Session:
    http = requests.Session()
    http.mount("http://", load.FromAddress(address))
    return http


def _logs_written_during(run) -> str:
    """What nginx's and the instances' logs got while ``run()`` ran."""
    logs = [
        *NGINX_LOGS,
        *(devcloud.LOGS / f"stack-app-{i}.log" for i in range(2)),
        *(stack.access_log(i) for i in range(2)),
    ]
    sizes = {log: log.stat().st_size if log.exists() else 0 for log in logs}
    run()
    written = []
    for log in logs:
        if log.exists():
            with open(log, "rb") as text:
                text.seek(sizes[log])
                written.append(text.read().decode(errors="replace"))
    return "\n".join(written)


@pytest.fixture
def upload_url(instances, demo_token, glance_demo):
    created = requests.post(
        f"{stack.NGINX_URL}{API}/images/",
        json=direct_create(f"edges-{uuid.uuid4().hex[:6]}"),
        headers={"X-Auth-Token": demo_token},
    ).json()
    yield created["upload_url"], created["id"]
    glance_demo.images.delete(created["id"])


# --- 1. Redis has a memory limit, and evicts only what expires -------------------------


def test_redis_has_a_memory_limit_and_keeps_what_does_not_expire(instances):
    memory = redis.Redis.from_url(stack.redis_url()).info("memory")
    assert memory["maxmemory"] == 256 * 1024 * 1024
    assert memory["maxmemory_policy"] == "volatile-lru"


# --- 2. no log of the stack holds a live upload secret or a token ----------------------


def test_no_log_of_the_stack_holds_an_upload_secret_or_a_token(
    instances, upload_url, demo_token, glance_demo
):
    url, image_id = upload_url
    secret = url.rstrip("/").rsplit("/", 1)[1]
    answers = []

    def run():
        answers.append(requests.put(url, data=b"x" * 100, headers={"Content-Type": "text/plain"}))
        answers.append(requests.put(url, data=b"x" * 1000, headers=OCTETS))
        answers.append(requests.put(url, data=b"x" * 1000, headers=OCTETS))  # used

    written = _logs_written_during(run)
    assert [answer.status_code for answer in answers][::2] == [415, 404]
    assert answers[1].status_code in UPLOADED
    assert glance_demo.images.get(image_id)["status"] == "active"
    assert "/uploads/<secret>/" in written  # nginx's access log wrote the requests
    assert secret not in written and demo_token not in written


def test_nginx_refusing_an_upload_url_over_its_limits_logs_no_secret(
    nginx_with,  # noqa: F811
    upload_url,
    glance_demo,
):
    """nginx's own 429 (the per-address rate) leaves the URL usable: its error log, which
    names a refused request's line, must not get the secret."""
    url, image_id = upload_url
    secret = url.rstrip("/").rsplit("/", 1)[1]
    nginx_with(api_rate=2)
    http = _from("127.0.0.6")  # no other test's address
    answers = []

    def run():
        def limited():
            answers.extend(
                http.put(url, data=b"x" * 100, headers={"Content-Type": "text/plain"})
                for _ in range(10)
            )
            return any(answer.status_code == 429 for answer in answers)

        assert eventually(limited)

    written = _logs_written_during(run)
    assert {answer.status_code for answer in answers} <= {415, 429}
    assert secret not in written
    assert glance_demo.images.get(image_id)["status"] == "queued"  # still usable


def test_nginx_unable_to_reach_the_app_logs_no_upload_secret(
    nginx_with,  # noqa: F811
    upload_url,
    closed_port,
    glance_demo,
):
    """Every instance out of reach: nginx cannot authorize (or pass on) an upload URL, and
    its error log, which names a failed request's line, must not get the still usable
    secret; other requests' failures are logged as before."""
    url, image_id = upload_url
    secret = url.rstrip("/").rsplit("/", 1)[1]
    nginx_with(upstreams=[f"127.0.0.1:{closed_port}"])
    # the reloaded configuration answers (its old workers finish first): five in a row, as
    # nginx_with waits on its way back (one 502 from a new worker left an old one taking
    # the next connection, which reached the app: a 204)
    answered = []
    assert eventually(
        lambda: (
            answered.append(requests.get(f"{stack.NGINX_URL}{API}/healthz/").status_code == 502)
            or answered[-5:] == [True] * 5
        )
    )
    answers = []

    def run():
        answers.append(requests.put(url, data=b"x" * 100, headers=OCTETS))
        answers.append(requests.put(url.rstrip("/"), data=b"x" * 100, headers=OCTETS))
        answers.append(requests.get(f"{stack.NGINX_URL}{API}/healthz/"))

    written = _logs_written_during(run)
    assert [answer.status_code for answer in answers] == [503, 503, 502]
    assert "[error]" in written  # the failures are logged...
    assert secret not in written  # ...but not an upload URL's
    assert glance_demo.images.get(image_id)["status"] == "queued"


# --- 4. nginx's authorization route is nginx's alone ----------------------------------


@pytest.mark.parametrize(
    "path", [f"{API}/_accel/upload/", f"{API}/%5Faccel/upload/", f"{API}//_accel/upload"]
)
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_the_upload_authorization_is_not_reachable_from_outside(
    instances, upload_url, demo_token, glance_demo, path, method
):
    url, image_id = upload_url
    answer = requests.request(
        method,
        f"{stack.NGINX_URL}{path}",
        headers={
            "X-Auth-Token": demo_token,
            "X-Original-URI": url.removeprefix(stack.NGINX_URL),
            "X-Original-Method": "PUT",
            **OCTETS,
        },
    )
    assert answer.status_code == 404, answer.text
    assert "X-Glance-Token" not in answer.headers and "X-Glance-Path" not in answer.headers
    # the upload URL was not used up
    assert requests.put(url, data=b"y" * 1000, headers=OCTETS).status_code in UPLOADED
    assert glance_demo.images.get(image_id)["size"] == 1000


# --- 5. downloads count against the per-address rate ----------------------------------


def test_downloads_and_heads_are_limited_per_address(nginx_with, demo_token, make_image):  # noqa: F811
    image = make_image(as_demo=True, data=b"d" * 1000)
    nginx_with(api_rate=5)
    http = _from("127.0.0.4")  # no other test's address
    http.headers["X-Auth-Token"] = demo_token
    file_url = f"{stack.NGINX_URL}{API}/images/{image['id']}/file/"
    answers = []

    def limited():
        answers.extend(http.request(method, file_url) for method in ["GET", "HEAD"] * 15)
        return any(answer.status_code == 429 for answer in answers)

    assert eventually(limited)
    statuses = {answer.status_code for answer in answers}
    assert statuses <= {200, 429}, statuses
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert refused.headers["Retry-After"] == str(stack.RETRY_AFTER)


# --- 10. a download through nginx keeps the app's security headers --------------------

SECURITY_HEADERS = (
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "Cache-Control",
)


def test_a_download_through_nginx_has_the_apps_security_headers(instances, demo_token, make_image):
    image = make_image(as_demo=True, data=b"h" * 1000)
    headers = {"X-Auth-Token": demo_token}
    path = f"{API}/images/{image['id']}/file/"
    direct = requests.get(f"{instances[0]}{path}", headers=headers)  # the app streams it
    carried = requests.get(f"{stack.NGINX_URL}{path}", headers=headers)  # nginx does
    assert direct.status_code == carried.status_code == 200
    assert carried.content == direct.content == b"h" * 1000
    expected = {name: direct.headers.get(name) for name in SECURITY_HEADERS}
    assert expected["X-Content-Type-Options"] == "nosniff" and expected["Cache-Control"]
    assert {name: carried.headers.get(name) for name in SECURITY_HEADERS} == expected


# --- 12. an upload without the final slash, carried by nginx ---------------------------


def test_nginx_carries_an_upload_without_the_final_slash(
    instances, upload_url, demo_token, make_image, glance_demo
):
    image = make_image(as_demo=True)
    put = requests.put(
        f"{stack.NGINX_URL}{API}/images/{image['id']}/file",
        data=b"s" * 1000,
        headers={"X-Auth-Token": demo_token, **OCTETS},
    )
    assert put.status_code in UPLOADED, put.text
    assert glance_demo.images.get(image["id"])["size"] == 1000
    url, image_id = upload_url
    unslashed = requests.put(url.rstrip("/"), data=b"u" * 1000, headers=OCTETS)
    assert unslashed.status_code in UPLOADED
    assert glance_demo.images.get(image_id)["size"] == 1000


# --- a fuzz of headers through the stack: never a 5xx ----------------------------------

MALFORMED = [
    "",
    "*",
    ",",
    ",,,",
    '"',
    'W/"',
    'W/"unterminated',
    "bytes=",
    "bytes=-",
    "bytes=--",
    "bytes=1-2-3",
    "bytes=" + "9" * 5000 + "-",
    "bytes=-" + "9" * 5000,
    "bytes=0-0,-1,5-",
    "bytes=a-b",
    "items=0-9",
    "wait=",
    "wait=-1",
    "wait=abc",
    "wait=" + "9" * 400,
    "return=",
    "return=representation; wait=5, handling=lenient",
    "sha-512=:",
    "sha-512=:not base64:",
    "sha-512=:" + "A" * 8000 + ":",
    "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:, md5=:x:",
    "unknown-algo=:AAAA:",
    "/api/glance/images/" + "../" * 50,
    "/api/glance/uploads/%00/",
    "%ff%fe",
    "ümlaut-\u00e9",
    "x" * 7000,
]
HEADERS = (
    "Range",
    "If-Range",
    "If-Match",
    "If-None-Match",
    "Prefer",
    "Content-Digest",
    "Repr-Digest",
    "X-Original-URI",
    "X-Original-Method",
)


def test_malformed_headers_through_the_stack_are_never_a_5xx(
    instances, demo_token, make_image, glance_demo
):
    with_data = make_image(as_demo=True, data=b"f" * 2000)
    queued = make_image(as_demo=True)
    http = _from("127.0.0.5")  # no other test's address
    http.headers["X-Auth-Token"] = demo_token
    image_url = f"{stack.NGINX_URL}{API}/images/{with_data['id']}/"
    requests_made = [
        ("GET", f"{image_url}file/", None),
        ("HEAD", f"{image_url}file/", None),
        ("GET", image_url, None),
        ("GET", f"{stack.NGINX_URL}{API}/images/", None),
        ("PATCH", image_url, b'{"description": "fuzzed"}'),
        ("PUT", f"{stack.NGINX_URL}{API}/images/{queued['id']}/file/", b"q" * 100),
        ("PUT", f"{stack.NGINX_URL}{API}/images/{queued['id']}/stage/", b"q" * 100),
    ]
    server_errors = []
    for (method, url, body), header, value in itertools.product(requests_made, HEADERS, MALFORMED):
        content_type = "application/json" if method == "PATCH" else OCTETS["Content-Type"]
        try:
            answer = http.request(
                method,
                url,
                data=body,
                headers={header: value.encode(), "Content-Type": content_type},
            )
        except requests.ConnectionError as exc:  # nginx refusing a header outright is fine
            server_errors.append((method, url, header, value[:40], repr(exc)))
            continue
        if answer.status_code >= 500:
            server_errors.append((method, url, header, value[:40], answer.status_code))
    assert server_errors == []
    assert not any("[alert]" in line or "[crit]" in line for line in _nginx_errors())


def _nginx_errors() -> list[str]:
    log = NGINX_LOGS[1]
    return log.read_text(errors="replace").splitlines() if log.exists() else []


def test_made_up_namespace_queries_leave_redis_and_glance_flat(instances):
    """benchmarks.cache_lever, short: 40 distinct resource_types values and 10 of each
    other kind, as demo through the stack."""
    from benchmarks import cache_lever

    results = cache_lever.main(["--values", "40"])
    assert results["statuses"] == {200: 60, 400: 10}  # 400: the unknown markers
    assert results["glance_metadefs_calls"] == 0
    assert results["redis_new_keys"] == 0


# --- digests on uploads nginx would carry (issue 37) -----------------------------------


EMPTY_SHA256 = base64.b64encode(hashlib.sha256(b"").digest()).decode()


def _sha512_field(data: bytes) -> str:
    return f"sha-512=:{base64.b64encode(hashlib.sha512(data).digest()).decode()}:"


def test_a_digest_upload_is_checked_through_nginxs_data_plane(
    instances, demo_token, make_image, glance_demo, glance_log
):
    """nginx answers a carried upload with Glance's 204 before the app could compare
    anything: an upload with a digest goes through the app, which checks it."""
    token = {"X-Auth-Token": demo_token, **OCTETS}
    data = b"d" * 300_000
    good, bad, malformed = (make_image(as_demo=True) for _ in range(3))
    put = requests.put(
        f"{stack.NGINX_URL}{API}/images/{good['id']}/file/",
        data=data,
        headers={**token, "Content-Digest": _sha512_field(data)},
    )
    assert put.status_code == 200, put.text  # the app's answer, not Glance's 204
    assert put.headers["Repr-Digest"] == _sha512_field(data)
    assert glance_demo.images.get(good["id"])["status"] == "active"

    put = requests.put(
        f"{stack.NGINX_URL}{API}/images/{bad['id']}/file/",
        data=data,
        headers={**token, "Repr-Digest": _sha512_field(b"something else")},
    )
    assert put.status_code == 400 and put.json()["code"] == "digest_mismatch", put.text
    assert put.json()["image_deleted"] is True
    with pytest.raises(Exception) as gone:
        glance_demo.images.get(bad["id"])
    assert getattr(gone.value, "code", None) == 404

    put = requests.put(
        f"{stack.NGINX_URL}{API}/images/{malformed['id']}/file/",
        data=data,
        headers={**token, "Content-Digest": f"sha-256=:{EMPTY_SHA256}:"},
    )
    assert put.status_code == 400, put.text
    assert put.json()["code"] == "unsupported_digest" and "sha-512" in put.json()["detail"]
    assert glance_demo.images.get(malformed["id"])["status"] == "queued"
    assert glance_log.count(f"PUT /v2/images/{malformed['id']}/file", 0, timeout=0.5) == 0


def test_an_upload_url_with_a_digest_is_checked_through_nginx(upload_url, glance_demo):
    url, image_id = upload_url
    data = b"u" * 200_000
    refused = requests.put(url, data=data, headers={**OCTETS, "Content-Digest": "sha-512=:x:"})
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_digest"
    put = requests.put(url, data=data, headers={**OCTETS, "Content-Digest": _sha512_field(data)})
    assert put.status_code == 200, put.text  # still usable after the refusal
    assert put.headers["Repr-Digest"] == _sha512_field(data)
    assert glance_demo.images.get(image_id)["status"] == "active"


def test_the_upload_command_works_through_nginx(instances, demo_token, tmp_path, glance_demo):
    """``python -m glance_api.upload`` against the production stack: its upload URL's
    bytes, sent with a digest, go through the app, which checks them."""
    data = os.urandom(3_000_000)
    path = tmp_path / "disk.img"
    path.write_bytes(data)
    name = f"stack-command-{uuid.uuid4().hex[:6]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(OS_TOKEN=demo_token)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "glance_api.upload",
            str(path),
            "--name",
            name,
            "--quiet",
            "--api",
            f"{stack.NGINX_URL}{API}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    images = list(glance_demo.images.list(filters={"name": name}))
    try:
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().endswith(f"verified {_sha512_field(data)}")
        assert [image["status"] for image in images] == ["active"]
    finally:
        for image in images:
            glance_demo.images.delete(image["id"])


# --- a worker killed mid-fill of the shared cache (make chaos's worker kill) ------------

_FILLER = """
import sys, time
import django
django.setup()
from glance_api.cache import app_cache
from glance_api.services import caching

def compute():
    print("computing", flush=True)
    time.sleep(60)

caching._fill(app_cache(), sys.argv[1], compute, 60)
"""


def test_a_filler_killed_mid_fill_holds_its_waiters_a_lease_not_the_whole_wait(instances):
    """A worker killed while it fills a shared cache entry (a namespace list, Glance's
    versions) must not hold every caller of that entry for FILL_WAIT_SECONDS: its lock is
    a lease it renews while it computes, so the lock outlives a lease while the filler
    lives and is gone within one once it is killed, and a waiter fills the entry itself.
    The filler is the app's own fill in a process of its own, on the stack's Redis."""
    from glance_api.cache import RedisCache, TolerantCache
    from glance_api.services import caching

    cache = TolerantCache(RedisCache(stack.redis_url(), {}))
    key = f"glance_api:test:{uuid.uuid4().hex}"
    env = {
        **os.environ,
        **stack.app_env(),
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "PYTHONPATH": str(devcloud.ROOT),
    }
    filler = subprocess.Popen(
        [sys.executable, "-c", _FILLER, key], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert filler.stdout.readline().strip() == "computing"
        time.sleep(caching.FILL_LEASE_SECONDS + 1)
        assert cache.get(f"{key}:filling") is not None  # renewed while the filler lives
        filler.kill()
        filler.wait(10)
        start = time.monotonic()
        entry = caching._fill(cache, key, lambda: "the waiter's", 60)
        waited = time.monotonic() - start
    finally:
        filler.kill()
        filler.wait(10)
        cache.delete(key)
    assert entry[1] == "the waiter's"
    # without the lease: the lock's whole FILL_WAIT_SECONDS (10) from when it was taken
    assert waited <= caching.FILL_LEASE_SECONDS + 0.5, waited

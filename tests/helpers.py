"""What the tests share beyond fixtures (those are in conftest.py)."""

import http.client
import http.server
import json
import time
import urllib.parse

import requests

from devcloud import config as devcloud

API = "/api/glance"
IMAGES = "/api/glance/images/"


def direct_create(name: str, **more) -> dict:
    """The body of a create whose data the client then sends itself (``file-direct``): a
    private raw image, named ``name``."""
    body = {"name": name, "source_type": "file-direct", "disk_format": "raw"}
    return {**body, "visibility": "private", "protected": False, **more}


def url(image_id: str, suffix: str = "") -> str:
    return f"{IMAGES}{image_id}/{suffix}"


def signed_in(base: str) -> requests.Session:
    http = requests.Session()
    http.get(f"{base}/api-auth/login/").raise_for_status()
    answer = http.post(
        f"{base}/api-auth/login/",
        data={
            "username": devcloud.DEMO.username,
            "password": devcloud.DEMO.password,
            "csrfmiddlewaretoken": http.cookies["csrftoken"],
            "next": f"{API}/",
        },
        headers={"Referer": f"{base}/api-auth/login/"},
    )
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
                return json.loads(line[line.index("{") :])
        time.sleep(0.1)
    raise AssertionError(f"no log line for {request_id} in {log}")


def put_bytes(client, path: str, data: bytes):
    return client.generic("PUT", path, data, content_type="application/octet-stream")


def wait_until(glance, image_id: str, done, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        image = glance.images.get(image_id)
        if done(image):
            return image
        assert time.monotonic() < deadline, f"gave up waiting: {dict(image)}"
        time.sleep(0.2)


class GlanceProxy(http.server.BaseHTTPRequestHandler):
    """The dev cloud's Glance behind a proxy on loopback: every request passed on, its
    answer passed back through :meth:`answered` (a subclass may change it)."""

    protocol_version = "HTTP/1.1"

    def forward(self, body: bytes) -> None:
        upstream = urllib.parse.urlsplit(devcloud.GLANCE_URL)
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        connection.request(self.command, self.path, body or None, headers)
        answer = connection.getresponse()
        data = self.answered(answer.read())
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        connection.close()

    def answered(self, data: bytes) -> bytes:
        return data

    def relay(self) -> None:
        self.forward(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def do_GET(self):
        self.relay()

    do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = do_GET

    def log_message(self, *args):
        pass


def multipart_fields(fields: dict, boundary: str = "XB") -> bytes:
    """A multipart/form-data body of ``fields`` (no file)."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode()

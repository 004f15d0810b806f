"""Fixtures over the real dev cloud: accounts, tokens, API clients, direct glanceclients."""

import http.client
import http.server
import io
import json
import socket
import threading
import time

import glanceclient
import pytest
import yaml
from django.core.cache import caches
from django.core.signals import got_request_exception
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from rest_framework.test import APIClient

from deploy import stack
from devcloud import cloud
from devcloud import config as devcloud
from glance_api import keystone
from tests.helpers import GlanceProxy

# The tests that start servers of their own (nginx and two instances, the benchmarks'
# servers, a fresh clone's dev cloud, the wheel's venv) or drive the API hard
# (schemathesis, chromium): marked ``servers``; nox's ``oldest`` leaves them out. Of
# those, the ones that measure time are marked ``alone`` too (make test runs them with
# nothing else running), and the fresh clone, which starts a dev cloud of its own,
# ``own_cloud`` (make test runs it beside the oldest combination). scripts/test-suite.
SERVER_TESTS = {
    "test_stack.py",
    "test_stack_edges.py",
    "test_watching_stack.py",
    "test_benchmarks.py",
    "test_schemathesis.py",
    "test_upload_command.py",
    "test_browser.py",
    "test_fresh_clone.py",
    # the wheel, built and installed with the newest dependencies: the same whatever
    # Django the session has
    "test_release.py",
}
ALONE = {"test_stack.py", "test_benchmarks.py"}
OWN_CLOUD = {"test_fresh_clone.py"}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.name in SERVER_TESTS:
            item.add_marker(pytest.mark.servers)
        if item.path.name in ALONE:
            item.add_marker(pytest.mark.alone)
        if item.path.name in OWN_CLOUD:
            item.add_marker(pytest.mark.own_cloud)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (the browser tests screenshot failures).

    A hook: it must live here, pytest does not take hooks from test modules.
    """
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def clouds() -> dict:
    """The dev cloud, brought up (or reused) once per run; its clouds.yaml entries."""
    cloud.up()
    return yaml.safe_load(devcloud.CLOUDS_YAML.read_text())["clouds"]


class AccessLog:
    """The requests a dev-cloud server (gunicorn's access log) answered from now on."""

    def __init__(self, path):
        self.path = path
        self.mark()

    def mark(self) -> None:
        """Count from now on."""
        self.start = self.path.stat().st_size if self.path.exists() else 0

    def count(self, fragment: str | tuple[str, ...], expected: int, timeout: float = 3) -> int:
        """How many answered requests (lines) contain ``fragment`` (each of them, if it is
        a tuple): waited for until at least ``expected`` (gunicorn writes a line as the
        answer goes), then a moment longer, so that more than expected shows too."""
        fragments = (fragment,) if isinstance(fragment, str) else fragment

        def found() -> int:
            with open(self.path, "rb") as log:
                log.seek(self.start)
                lines = log.read().decode(errors="replace").splitlines()
            return sum(1 for line in lines if all(part in line for part in fragments))

        deadline = time.monotonic() + timeout
        while True:
            seen = found()
            if seen >= expected or time.monotonic() > deadline:
                if seen >= expected:
                    time.sleep(0.3)
                    seen = found()
                return seen
            time.sleep(0.1)


@pytest.fixture
def keystone_log(clouds):
    """Keystone's access log from the start of the test."""
    return AccessLog(cloud.KEYSTONE_ACCESS_LOG)


@pytest.fixture
def glance_log(clouds):
    """Glance's access log from the start of the test."""
    return AccessLog(cloud.GLANCE_ACCESS_LOG)


@pytest.fixture(autouse=True)
def no_request_fails_unhandled():
    """No request of any test may end in an exception Django has to answer (a 500 and a
    traceback), whatever the test expects: every error is the app's own 4xx or 5xx."""
    failed = []

    def record(sender, request=None, **kwargs):
        failed.append(f"{request.method} {request.path}" if request is not None else "?")

    got_request_exception.connect(record)
    yield
    got_request_exception.disconnect(record)
    assert failed == [], f"unhandled exception (a 500) answering {failed}"


@pytest.fixture(autouse=True)
def app_settings(settings):
    """Point the app at the dev cloud's Keystone; start every test with empty caches."""
    settings.GLANCE_API = {"KEYSTONE_URL": devcloud.KEYSTONE_URL}
    caches["default"].clear()
    keystone.local_validations.clear()
    yield settings
    caches["default"].clear()
    keystone.local_validations.clear()


@pytest.fixture
def quick_watch(app_settings):
    """The project's ASGI middleware (as project.asgi has them: each runs in the event
    loop, so the requests of one test share it), and quick rounds."""
    app_settings.MIDDLEWARE = [m for m in app_settings.MIDDLEWARE if "whitenoise" not in m]
    app_settings.GLANCE_API = {
        **app_settings.GLANCE_API,
        "WATCH_POLL_SECONDS": 0.5,
        "WATCH_MAX_WAIT": 8,
    }
    return app_settings


def keystone_session(clouds: dict, name: str) -> ks_session.Session:
    auth = clouds[name]["auth"]
    return ks_session.Session(
        auth=v3.Password(
            auth_url=auth["auth_url"],
            username=auth["username"],
            password=auth["password"],
            project_name=auth["project_name"],
            user_domain_name=auth["user_domain_name"],
            project_domain_name=auth["project_domain_name"],
        )
    )


@pytest.fixture(scope="session")
def admin_session(clouds) -> ks_session.Session:
    return keystone_session(clouds, devcloud.ADMIN.cloud)


@pytest.fixture(scope="session")
def demo_session(clouds) -> ks_session.Session:
    return keystone_session(clouds, devcloud.DEMO.cloud)


@pytest.fixture(scope="session")
def admin_token(admin_session) -> str:
    return admin_session.get_token()


@pytest.fixture(scope="session")
def demo_token(demo_session) -> str:
    return demo_session.get_token()


@pytest.fixture
def fresh_demo_token(clouds) -> str:
    """A token of its own, for tests that revoke it."""
    return keystone_session(clouds, devcloud.DEMO.cloud).get_token()


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def admin_client(admin_token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_AUTH_TOKEN=admin_token)
    return client


@pytest.fixture
def demo_client(demo_token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_AUTH_TOKEN=demo_token)
    return client


@pytest.fixture(scope="session")
def glance_admin(admin_session):
    """Glance as the admin sees it, straight through glanceclient: to check effects."""
    return glanceclient.Client("2", session=admin_session, region_name=devcloud.REGION)


@pytest.fixture(scope="session")
def glance_demo(demo_session):
    return glanceclient.Client("2", session=demo_session, region_name=devcloud.REGION)


# --- real failures on loopback ----------------------------------------------


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_port():
    """A loopback port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


class _FailingHandler(http.server.BaseHTTPRequestHandler):
    body = b"Traceback (most recent call last): secret internal detail"

    def do_GET(self):
        self.send_response(500)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def failing_server():
    """A loopback HTTP server that answers every request with a 500 and a traceback."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FailingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _ImageFileHandler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files`` (path -> bytes) to HEAD and GET; 404 for anything else."""

    def do_HEAD(self):
        self._answer(with_body=False)

    def do_GET(self):
        self._answer(with_body=True)

    def _answer(self, with_body: bool):
        data = self.server.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if with_body:
            self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def file_server():
    """A loopback HTTP server for Glance to fetch from (web-download, http locations).

    ``file_server.serve(path, data)`` publishes bytes and returns their URL.
    """
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ImageFileHandler)
    server.files = {}

    def serve(path: str, data: bytes) -> str:
        server.files[path] = data
        return f"http://127.0.0.1:{server.server_address[1]}{path}"

    server.serve = serve
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def make_image(glance_admin, glance_demo):
    """Create images directly in Glance (as admin or demo); deleted after the test."""
    created = []

    def make(as_demo: bool = False, data: bytes | None = None, **attributes):
        glance = glance_demo if as_demo else glance_admin
        attributes = {
            "disk_format": "raw",
            "container_format": "bare",
            "name": "test-image",
            **attributes,
        }
        image = glance.images.create(**attributes)
        created.append((glance, image["id"]))
        if data is not None:
            glance.images.upload(image["id"], io.BytesIO(data), image_size=len(data))
            image = glance.images.get(image["id"])
        return dict(image)

    yield make
    for glance, image_id in created:
        try:
            if glance.images.get(image_id).get("protected"):
                glance.images.update(image_id, protected=False)
            glance.images.delete(image_id)
        except Exception:  # already gone
            pass


@pytest.fixture
def cleanup_images(glance_admin):
    """Ids of images a test made through the API: deleted (as admin) after the test."""
    ids = []
    yield ids
    for image_id in ids:
        try:
            glance_admin.images.update(image_id, protected=False)
            glance_admin.images.delete(image_id)
        except Exception:  # already gone
            pass


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, headless, driven by Playwright (which downloads no browser)."""
    import shutil

    from playwright import sync_api

    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is missing: run scripts/ensure-chromium (make test does)"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def instances(clouds):
    """The stack, started anew so that the instances serve this checkout's code."""
    stack.down()
    stack.up(2)
    logs = [devcloud.LOGS / f"stack-{kind}-{i}.log" for kind in ("app", "watch") for i in range(2)]
    start = [log.stat().st_size if log.exists() else 0 for log in logs]
    yield [stack.app_url(0), stack.app_url(1)]
    stack.down()
    # whatever the tests did to them, the instances answered no request with a 500
    for log, offset in zip(logs, start, strict=True):
        with open(log, "rb") as text:
            text.seek(offset)
            written = text.read().decode(errors="replace")
        assert "Internal Server Error" not in written and "Traceback" not in written, (
            f"{log}: {written[written.find('Traceback') - 2000 :][:6000]}"
        )


# --- the dev cloud's Glance behind a proxy that rewrites its versions document
# (tests/test_older_glance.py: an older Glance, as its versions document says)


def _key(version: dict) -> tuple[int, ...]:
    return tuple(int(part) for part in version["id"].lstrip("v").split("."))


class _OlderGlance(GlanceProxy):
    listed = staticmethod(lambda version: True)  # which versions the document keeps

    def answered(self, data: bytes) -> bytes:
        if not (self.command == "GET" and self.path.rstrip("/") in ("", "/versions")):
            return data
        versions = json.loads(data)
        versions["versions"] = [v for v in versions["versions"] if self.listed(_key(v))]
        newest = max(versions["versions"], key=_key)
        for version in versions["versions"]:
            version["status"] = "CURRENT" if version is newest else "SUPPORTED"
        return json.dumps(versions).encode()


@pytest.fixture
def glance_listing(app_settings, clouds):
    """``glance_listing(listed)``: the app calls the dev cloud's Glance through a proxy
    whose versions document keeps the versions for which ``listed(version)`` holds."""
    servers = []

    def start(listed):
        handler = type("Handler", (_OlderGlance,), {"listed": staticmethod(listed)})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        app_settings.GLANCE_API = {
            **app_settings.GLANCE_API,
            "GLANCE_URL": f"http://127.0.0.1:{server.server_address[1]}",
        }

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()

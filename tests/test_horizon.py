"""Horizon 27's own images panel, in Debian's chromium, on glance_api in place of Horizon's
``/api/glance/`` (set up as the README tells an operator: ``devcloud/horizon.py``).

Every request the page makes to ``/api/glance/`` must be answered by this app (its answers
carry ``Vary: X-Auth-Token``; Horizon's own views do not), with no 4xx or 5xx.
"""

import hashlib
import os
import uuid
from pathlib import Path

import pytest

from devcloud import config as devcloud
from devcloud import horizon

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def dashboards(clouds):
    """The two Horizon servers (legacy and direct upload modes), started anew so that they
    serve this checkout's code."""
    horizon.down()
    started = horizon.up()
    return {"legacy": started[0].url.rstrip("/"), "direct": started[1].url.rstrip("/")}


class Panel:
    """A signed-in Horizon page, recording what it asked /api/glance/ and the answers."""

    def __init__(self, browser, base: str, request):
        self.base, self.request = base, request
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.page.set_default_timeout(30000)
        self.answers = []
        self.page.on("response", self._record)

    def _record(self, response):
        if "/api/glance/" in response.url:
            self.answers.append((response.request.method, response.url, response.status,
                                 response.headers.get("vary", "")))

    def sign_in(self, account=devcloud.DEMO):
        self.page.goto(f"{self.base}/auth/login/")
        self.page.fill("#id_username", account.username)
        self.page.fill("#id_password", account.password)
        self.page.click("#loginBtn")
        self.page.wait_for_load_state("networkidle")

    def images(self):
        self.page.goto(f"{self.base}/project/images")
        self.page.wait_for_selector("text=Create Image")
        self.page.wait_for_load_state("networkidle")

    def create_from_file(self, name: str, path: Path):
        page = self.page
        page.click("button:has-text('Create Image')")
        page.wait_for_selector(".modal-dialog #imageForm-name")
        page.fill("#imageForm-name", name)
        page.click(".modal-dialog label:has-text('File')")
        page.set_input_files(".modal-dialog input[type=file]", str(path))
        page.select_option("#imageForm-format", label="Raw")
        page.click(".modal-dialog label:has-text('Private')")
        page.click(".modal-footer button:has-text('Create Image')")
        page.wait_for_selector(".modal-dialog", state="detached")

    def check_answers(self):
        assert self.answers, "the page asked /api/glance/ nothing"
        for method, url, status, vary in self.answers:
            assert status < 400, (method, url, status)
            assert "x-auth-token" in vary.lower(), f"not answered by glance_api: {url}"

    def close(self):
        report = getattr(self.request.node, "report_call", None)
        if report is None or report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            self.page.screenshot(path=str(ARTIFACTS / f"{self.request.node.name}.png"),
                                 full_page=True)
        self.context.close()


@pytest.fixture
def panel(browser, dashboards, request):
    opened = []

    def open_panel(mode: str = "legacy") -> Panel:
        opened.append(Panel(browser, dashboards[mode], request))
        return opened[-1]

    yield open_panel
    for each in opened:
        each.close()


def test_images_panel_lists_the_projects_images(panel, make_image):
    image = make_image(as_demo=True, name=f"listed-{uuid.uuid4().hex[:6]}")
    page = panel("legacy")
    page.sign_in()
    page.images()
    page.page.wait_for_selector(f"text={image['name']}")
    page.check_answers()


@pytest.mark.parametrize("mode", ["legacy", "direct"])
def test_create_image_from_a_file_in_both_upload_modes(panel, glance_demo, tmp_path, mode):
    data = os.urandom(700_000)
    disk = tmp_path / "disk.raw"
    disk.write_bytes(data)
    name = f"horizon-{mode}-{uuid.uuid4().hex[:6]}"
    page = panel(mode)
    page.sign_in()
    page.images()
    page.create_from_file(name, disk)
    page.page.wait_for_selector(f"text={name}")
    (created,) = glance_demo.images.list(filters={"name": name})
    try:
        held = glance_demo.images.get(created["id"])
        assert held["status"] == "active" and held["visibility"] == "private"
        assert held["os_hash_value"] == hashlib.sha512(data).hexdigest()
        assert not {"is_copying", "data", "image_file", "$$originalJSON"} & set(held)
        uploads = [a for a in page.answers if "/uploads/" in a[1]]
        assert len(uploads) == (1 if mode == "direct" else 0)
        page.check_answers()
    finally:
        glance_demo.images.delete(created["id"])

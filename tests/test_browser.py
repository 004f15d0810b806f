"""The browsable API, Swagger UI and ReDoc in a real browser: Debian's headless Chromium."""

import json
import os
import re
import shutil
import time
import uuid
from pathlib import Path

import pytest
from glanceclient import exc as glance_exc
from playwright import sync_api

from devcloud import config as devcloud

# Playwright's sync API runs an event loop in this thread; the Django code of these tests
# (fixtures, the live server's database) is synchronous all the same.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture
def page(browser, request, live_server, transactional_db):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20000)
    yield page
    report = getattr(request.node, "report_call", None)  # set by conftest's hook
    if report is None or report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def screenshot(page, name: str) -> None:
    """For the README: kept under test-artifacts/, copied to docs/ with UPDATE_SCREENSHOTS=1."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(ARTIFACTS / name, SCREENSHOTS / name)


def sign_in(page, live_server, next_path: str, account=devcloud.DEMO) -> None:
    page.goto(f"{live_server.url}/api-auth/login/?next={next_path}")
    page.fill("input[name=username]", account.username)
    page.fill("input[name=password]", account.password)
    page.fill("input[name=project]", account.project)
    page.click("[type=submit]")
    page.wait_for_url(f"{live_server.url}{next_path}")


def try_out_version(page):
    """Swagger UI's "Try it out" on GET version/; the answer must be a 200."""
    version = page.locator("#operations-version-glance_version_list")
    version.locator(".opblock-summary").click()
    version.locator("button.try-out__btn").click()
    version.locator("button.execute").click()
    status = version.locator(".live-responses-table tbody .response-col_status").first
    sync_api.expect(status).to_have_text("200")
    return version


def test_sign_in_and_browse_images(page, live_server, make_image):
    image = make_image(as_demo=True, name=f"browse-{uuid.uuid4().hex[:6]}", os_distro="debian")
    sign_in(page, live_server, "/api/glance/")
    assert page.locator("text=/api/glance/images/").first.is_visible()  # the root's links
    assert page.locator(".navbar").inner_text().find(devcloud.DEMO.username) >= 0

    page.goto(f"{live_server.url}/api/glance/images/?name={image['name']}")
    # issue 27: one title per resource, each breadcrumb level once (DRF said "Image List",
    # and "Api Root / Image List / Image List" from the routes with and without a slash)
    assert page.title() == "Images – Glance API"
    assert page.locator("h1").first.inner_text().strip() == "Images"
    assert page.locator(".breadcrumb li").all_inner_texts() == ["Api Root", "Images"]
    assert page.locator(".navbar-brand").inner_text().strip() == "Glance API"
    assert image["id"] in page.locator(".response-info").inner_text()
    screenshot(page, "browsable-api.png")

    page.click(f".related-links a:text-is('{image['name']}')")  # one click to the image
    page.wait_for_url(f"{live_server.url}/api/glance/images/{image['id']}/")
    body = page.locator(".response-info").inner_text()
    assert image["name"] in body and '"os_distro": "debian"' in body
    assert page.title() == f"Image {image['name']} – Glance API"
    assert page.locator(".breadcrumb li").all_inner_texts() == [
        "Api Root",
        "Images",
        f"Image {image['name']}",
    ]
    screenshot(page, "browsable-api-image.png")
    detail = page.url
    for title, suffix, status in (
        ("Properties", "properties/", "200 OK"),
        ("File", "file/", "204 No Content"),
        ("Members", "members/", "200 OK"),
        ("Tags", "tags/", "200 OK"),
    ):
        page.goto(detail)
        page.click(f".related-links a:text-is('{title}')")
        page.wait_for_url(f"{detail}{suffix}")
        assert f"HTTP {status}" in page.locator(".response-info").inner_text(), title
    page.goto(f"{live_server.url}/api/glance/images/{image['id']}/properties/")
    assert '"os_distro": "debian"' in page.locator(".response-info").inner_text()

    page.click(".navbar .dropdown-toggle")  # the signed-in user's menu
    page.click("text=Log out")  # posts the logout form, then reloads this page, signed out
    page.wait_for_selector("text=HTTP 401 Unauthorized")
    page.goto(f"{live_server.url}/api/glance/images/")
    assert "401" in page.locator(".response-info").inner_text()


def test_create_and_edit_an_image_through_the_forms(page, live_server, file_server, glance_demo):
    name = f"form-{uuid.uuid4().hex[:6]}"
    image_url = file_server.serve("/form.raw", b"browser bytes" * 100)
    sign_in(page, live_server, "/api/glance/images/")
    form = page.locator("#post-object-form form")
    assert "http or https URL of the image data" in form.inner_text()  # help texts
    labels = form.locator("label.control-label").all_inner_texts()
    assert [label.strip() for label in labels[:3]] == ["Name", "Description", "Source type"]
    disk_formats = form.locator("select[name=disk_format] option").all_inner_texts()
    assert {"raw", "qcow2", "iso", "docker", "ova"} <= {f.strip() for f in disk_formats}
    assert form.locator("select[name=container_format]").count() == 1
    assert form.locator("select[name=visibility]").input_value() == "private"
    form.locator("input[name=name]").fill(name)
    form.locator("select[name=source_type]").select_option("url")
    form.locator("input[name=image_url]").fill(image_url)
    form.locator("input[name=import_data]").check()
    form.locator("select[name=disk_format]").select_option("raw")
    form.locator("button:has-text('POST')").click()
    page.wait_for_selector("text=HTTP 201 Created")
    (created,) = glance_demo.images.list(filters={"name": name})
    try:
        assert created["visibility"] == "private"
        deadline = time.monotonic() + 30
        while glance_demo.images.get(created["id"])["status"] != "active":
            assert time.monotonic() < deadline, "the web-download import did not finish"
            time.sleep(0.2)
        page.goto(f"{live_server.url}/api/glance/images/{created['id']}/")
        form = page.locator("#put-object-form form")
        assert form.get_attribute("data-method") == "PATCH"
        page.click("a[name=html-tab]")
        form.locator("input[name=name]").fill(f"{name}-renamed")
        form.locator("input[name=min_ram]").fill("128")
        form.locator("button:has-text('PATCH')").click()
        page.wait_for_selector("text=HTTP 204 No Content")
        held = glance_demo.images.get(created["id"])
        assert (held["name"], held["min_ram"]) == (f"{name}-renamed", 128)
    finally:
        try:
            glance_demo.images.delete(created["id"])
        except glance_exc.ClientException:
            pass


def test_swagger_ui_lists_every_operation_and_tries_one(page, live_server, anon_client):
    schema = anon_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operations = [
        op["operationId"]
        for ops in schema["paths"].values()
        for op in ops.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    sign_in(page, live_server, "/api/docs/")
    page.wait_for_selector(".opblock")
    ids = page.eval_on_selector_all(".opblock", "blocks => blocks.map(b => b.id)")
    assert sorted(re.sub(r"^operations-[^-]+-", "", i) for i in ids) == sorted(operations)

    version = try_out_version(page)
    assert '"version": "2"' in version.locator(".live-responses-table").inner_text()
    screenshot(page, "swagger-ui.png")


def test_swagger_ui_and_redoc_ask_no_other_host_and_log_no_error(page, live_server):
    requested, console_errors = [], []
    page.on("request", lambda request: requested.append(request.url))
    page.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title")
    page.wait_for_selector(".opblock")
    page.goto(f"{live_server.url}/api/redoc/")
    page.wait_for_selector("h1")
    assert "Glance API" in page.locator("h1").first.inner_text()
    assert page.locator("text=metadefs").count() > 0  # the operations' tags are rendered
    page.wait_for_selector("text=API docs by Redocly")  # the badge, with its logo inline
    page.wait_for_load_state("networkidle")
    here = (live_server.url, "data:", "blob:")
    elsewhere = [url for url in requested if not url.startswith(here)]
    assert elsewhere == []
    assert console_errors == []


def test_swagger_ui_authorizes_with_a_token(page, live_server, demo_token):
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock")
    page.click("button.authorize")
    scheme = page.locator(".auth-container").filter(has_text="keystoneToken")
    scheme.locator("input").fill(demo_token)
    scheme.locator("button[type=submit]").click()
    page.click("button.btn-done")
    try_out_version(page)


def test_an_admin_imports_a_namespace_from_the_browser(page, live_server, glance_admin):
    """As the dashboard's "Import Namespace": a whole namespace document, pasted as JSON
    into the namespaces page's form, made in one POST."""
    name = f"TEST::Browser::{uuid.uuid4().hex[:6]}"
    document = {
        "namespace": name,
        "display_name": "From the browser",
        "properties": {"speed": {"title": "Speed", "type": "integer"}},
        "objects": [{"name": "Engine"}],
        "tags": [{"name": "red"}],
    }
    sign_in(page, live_server, "/api/glance/metadefs/namespaces/", devcloud.ADMIN)
    try:
        page.click("a[name=raw-tab]")
        form = page.locator("#post-generic-content-form form")
        form.locator("select[name=_content_type]").select_option("application/json")
        form.locator("textarea[name=_content]").fill(json.dumps(document))
        form.locator("button:has-text('POST')").click()
        page.wait_for_selector("text=HTTP 201 Created")
        held = glance_admin.metadefs_namespace.get(name)
        assert held["display_name"] == "From the browser"
        assert set(held["properties"]) == {"speed"}
        assert [o["name"] for o in held["objects"]] == ["Engine"]
        assert [t["name"] for t in held["tags"]] == ["red"]

        # a namespace's own fields through the HTML form (its contents are lists)
        page.goto(f"{live_server.url}/api/glance/metadefs/namespaces/")
        page.click("a[name=html-tab]")
        form = page.locator("#post-object-form form")
        form.locator("input[name=namespace]").fill(f"{name}-form")
        form.locator("input[name=display_name]").fill("From the HTML form")
        form.locator("select[name=visibility]").select_option("private")
        form.locator("button:has-text('POST')").click()
        page.wait_for_selector("text=HTTP 201 Created")
        held = glance_admin.metadefs_namespace.get(f"{name}-form")
        assert (held["display_name"], held["visibility"]) == ("From the HTML form", "private")
    finally:
        for made in (name, f"{name}-form"):
            try:
                glance_admin.metadefs_namespace.delete(made)
            except glance_exc.ClientException:
                pass

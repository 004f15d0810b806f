"""Every operation of the OpenAPI schema, called for real, answers as the schema says.

Each answer's status must be documented for its operation, its content type must be one
the operation declares for that status, and its body must validate (JSON Schema, with
OpenAPI 3.0's ``nullable``) against the schema's own declaration.
"""

import io
import re
import time
import uuid

import pytest
from openapi_schema_validator import OAS30ReadValidator

from devcloud import config as devcloud

API = "/api/glance/"
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def openapi(django_db_blocker) -> dict:
    from rest_framework.test import APIClient

    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


class Contract:
    """Calls the API through a DRF test client, checking each answer against the schema."""

    def __init__(self, openapi: dict, client):
        self.openapi, self.client, self.called = openapi, client, set()
        # a literal path before a template that also matches it (images/events/, then
        # images/{id}/), as the router orders its routes
        self.templates = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path)
            for path in sorted(openapi["paths"], key=lambda path: path.count("{"))
        ]

    def operation(self, method: str, path: str) -> tuple[str, dict]:
        for regex, template in self.templates:
            if regex.match(path):
                return template, self.openapi["paths"][template][method]
        raise AssertionError(f"{method.upper()} {path} is not in the schema")

    def call(self, method: str, path: str, expect: int, **kwargs):
        path = API + path
        response = getattr(self.client, method)(path, **kwargs)
        assert response.status_code == expect, (
            method,
            path,
            response.status_code,
            b"" if response.streaming else response.content,
        )
        self.check(method, path, response)
        return response

    def check(self, method: str, path: str, response) -> None:
        template, operation = self.operation(method, path.split("?")[0])
        self.called.add((method, template))
        code = str(response.status_code)
        assert code in operation["responses"], f"{method} {template}: {code} is not documented"
        declared = operation["responses"][code].get("content", {})
        body = b"".join(response.streaming_content) if response.streaming else response.content
        if not body:
            return
        media_type = response["Content-Type"].split(";")[0]
        assert media_type in declared, (method, template, code, media_type, list(declared))
        if media_type == "application/json":
            schema = {**declared[media_type]["schema"], "components": self.openapi["components"]}
            errors = [
                f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in OAS30ReadValidator(schema).iter_errors(response.json())
            ]
            assert not errors, (method, template, code, errors[:5])


@pytest.fixture
def contract(openapi):
    def make(client) -> Contract:
        return Contract(openapi, client)

    return make


def wait_until(done, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.2)


def file_part(data: bytes, name: str = "disk.raw"):
    upload = io.BytesIO(data)
    upload.name = name
    return upload


def test_every_operation_answers_as_documented_for_the_admin(
    contract, openapi, admin_client, glance_admin, demo_session, make_image, cleanup_images
):
    api = contract(admin_client)
    demo_project = demo_session.get_project_id()

    # health, discovery, version, metadata definitions
    for path in (
        "healthz/",
        "readyz/",
        "version/",
        "info/",
        "info/import/",
        "info/stores/",
        "info/usage/",
        "schemas/",
        "schemas/image/",
        "metadefs/resourcetypes/",
        "metadefs/namespaces/OS::Compute::VirtCPUTopology/",
    ):
        api.call("get", path, 200)
    api.call("get", "metadefs/namespaces/?paginate=true&limit=3", 200)
    api.call("get", "metadefs/namespaces/?resource_type=OS::Nova::Flavor", 200)
    api.call("get", "metadefs/namespaces/No::Such/", 404)
    api.call("get", "metadefs/namespaces/?sort_key=owner", 400)
    api.call("get", "metadefs/resourcetypes/?colour=red", 400)

    # images: create three ways, list, read, update
    direct = api.call(
        "post",
        "images/",
        201,
        format="json",
        data={
            "name": "contract-direct",
            "source_type": "file-direct",
            "disk_format": "raw",
            "visibility": "private",
            "protected": False,
            "os_distro": "cirros",
        },
    ).json()
    cleanup_images.append(direct["id"])
    uploaded = api.call(
        "post",
        "images/",
        201,
        format="json",
        data={
            "name": "contract-upload-url",
            "source_type": "file-direct",
            "disk_format": "raw",
            "visibility": "private",
            "protected": False,
        },
    ).json()
    cleanup_images.append(uploaded["id"])
    secret_path = uploaded["upload_url"].split("/api/glance/", 1)[1]
    api.call("put", secret_path, 200, data=b"u" * 1024, content_type="application/octet-stream")
    api.call("put", secret_path, 404, data=b"u", content_type="application/octet-stream")
    by_put = api.call(
        "put",
        "images/",
        201,
        format="json",
        data={
            "name": "contract-put",
            "source_type": "file-direct",
            "disk_format": "raw",
            "visibility": "shared",
            "protected": False,
        },
    ).json()
    cleanup_images.append(by_put["id"])
    legacy = api.call(
        "post",
        "images/",
        201,
        format="multipart",
        data={
            "name": "contract-legacy",
            "source_type": "file-legacy",
            "disk_format": "raw",
            "visibility": "private",
            "protected": "false",
            "data": file_part(b"x" * 4096),
        },
    ).json()
    cleanup_images.append(legacy["id"])
    api.call("post", "images/", 400, format="json", data={"source_type": "url"})

    api.call("get", "images/", 200)
    api.call("get", "images/?paginate=true&limit=2&sort_dir=asc&visibility=all", 200)
    api.call("get", f"images/?paginate=true&marker={direct['id']}&reversed_order=true", 200)
    api.call("get", "images/?size_min=big", 400)
    api.call("get", f"images/{direct['id']}/", 200)
    api.call("get", f"images/{uuid.uuid4()}/", 404)
    api.call(
        "patch",
        f"images/{direct['id']}/",
        204,
        format="json",
        data={
            "name": "contract-direct-2",
            "disk_format": "raw",
            "visibility": "private",
            "protected": False,
        },
    )
    api.call(
        "patch",
        f"images/{direct['id']}/",
        200,
        format="json",
        HTTP_PREFER="return=representation",
        data={
            "name": "contract-direct-3",
            "disk_format": "raw",
            "visibility": "private",
            "protected": False,
            "min_ram": 128,
        },
    )
    api.call("patch", f"images/{direct['id']}/", 400, format="json", data={"name": "x"})
    api.call("get", f"images/{direct['id']}/properties/", 200)
    api.call(
        "patch",
        f"images/{direct['id']}/properties/",
        204,
        format="json",
        data={"updated": {"os_distro": "debian"}, "removed": []},
    )

    # data: upload, download, staging and import
    api.call("get", f"images/{direct['id']}/file/", 204)
    api.call(
        "put",
        f"images/{direct['id']}/file/",
        200,
        data=b"y" * 2048,
        content_type="application/octet-stream",
    )
    api.call(
        "put",
        f"images/{direct['id']}/file/",
        409,
        data=b"again",
        content_type="application/octet-stream",
    )
    api.call("get", f"images/{direct['id']}/file/", 200)
    # tags and members
    api.call("put", f"images/{direct['id']}/tags/contract/", 204)
    api.call("get", f"images/{direct['id']}/tags/", 200)
    api.call("delete", f"images/{direct['id']}/tags/contract/", 204)
    shared = make_image(name="contract-shared", visibility="shared")
    api.call(
        "post",
        f"images/{shared['id']}/members/",
        201,
        format="json",
        data={"member_id": demo_project},
    )
    api.call(
        "post",
        f"images/{shared['id']}/members/",
        409,
        format="json",
        data={"member_id": demo_project},
    )
    api.call("get", f"images/{shared['id']}/members/", 200)
    api.call("get", f"images/{shared['id']}/members/{demo_project}/", 200)
    api.call(
        "patch",
        f"images/{shared['id']}/members/{demo_project}/",
        200,
        format="json",
        data={"status": "accepted"},
    )  # the member answers; Glance lets the admin too
    api.call("delete", f"images/{shared['id']}/members/{demo_project}/", 204)

    # lifecycle
    api.call("post", f"images/{direct['id']}/actions/deactivate/", 204)
    api.call("post", f"images/{direct['id']}/actions/reactivate/", 204)
    protected = make_image(name="contract-protected", protected=True)
    api.call("delete", f"images/{protected['id']}/", 403)
    api.call("delete", f"images/{legacy['id']}/", 204)

    api.call(
        "put",
        f"images/{by_put['id']}/stage/",
        200,
        data=b"z" * 1024,
        content_type="application/octet-stream",
    )
    api.call(
        "post",
        f"images/{by_put['id']}/import/",
        202,
        format="json",
        data={"method": "glance-direct"},
    )
    api.call(
        "post",
        f"images/{legacy['id']}/import/",
        400,
        format="json",
        data={"method": "web-download"},
    )
    # (last: the dev cloud's Glance on SQLite locks its database while it imports)
    wait_until(lambda: glance_admin.images.get(by_put["id"])["status"] == "active")

    # the rest of Glance v2: tasks, stores, the image cache, metadefs writes
    api.call("get", f"images/{by_put['id']}/tasks/", 200)
    # watching: progress (and its 304), the list's 304; the stream is the ASGI server's
    # (under WSGI a documented 501; its 200: tests/test_watching_stack.py)
    progress = api.call("get", f"images/{by_put['id']}/progress/", 200)
    api.call("get", f"images/{by_put['id']}/progress/", 304, HTTP_IF_NONE_MATCH=progress["ETag"])
    listed = api.call("get", "images/?paginate=true&limit=2", 200)
    api.call("get", "images/?paginate=true&limit=2", 304, HTTP_IF_NONE_MATCH=listed["ETag"])
    api.call("get", "images/events/", 501, HTTP_ACCEPT="text/event-stream")
    api.call("get", "info/stores/detail/", 200)
    api.call("delete", f"images/{direct['id']}/stores/fs/", 409)  # its only copy
    api.call("put", f"cache/{direct['id']}/", 202)
    api.call("get", "cache/", 200)
    api.call("delete", f"cache/{direct['id']}/", 204)
    api.call("delete", "cache/?target=queue", 204)
    api.call("delete", "cache/?target=nothing", 400)
    name = f"TEST::Contract::{uuid.uuid4().hex[:8]}"
    try:
        api.call(
            "post",
            "metadefs/namespaces/",
            201,
            format="json",
            data={
                "namespace": name,
                "properties": {"p": {"title": "P", "type": "string"}},
                "objects": [{"name": "O"}],
                "tags": [{"name": "t"}],
            },
        )
        api.call("post", "metadefs/namespaces/", 409, format="json", data={"namespace": name})
        api.call(
            "put",
            f"metadefs/namespaces/{name}/",
            200,
            format="json",
            data={"description": "changed"},
        )
        base = f"metadefs/namespaces/{name}"
        for kind, item, body in (
            ("objects", "O", {"name": "O", "description": "d"}),
            ("properties", "p", {"name": "p", "title": "P", "type": "integer"}),
        ):
            api.call("get", f"{base}/{kind}/", 200)
            api.call("get", f"{base}/{kind}/{item}/", 200)
            api.call("put", f"{base}/{kind}/{item}/", 200, format="json", data=body)
            api.call(
                "post", f"{base}/{kind}/", 201, format="json", data={**body, "name": f"{item}2"}
            )
            api.call("delete", f"{base}/{kind}/{item}2/", 204)
        api.call("get", f"{base}/tags/", 200)
        api.call(
            "post",
            f"{base}/tags/",
            201,
            format="json",
            data={"tags": [{"name": "u"}], "append": True},
        )
        api.call("post", f"{base}/tags/v/", 201)
        api.call("get", f"{base}/tags/v/", 200)
        api.call("put", f"{base}/tags/v/", 200, format="json", data={"name": "w"})
        api.call("delete", f"{base}/tags/w/", 204)
        api.call("delete", f"{base}/tags/", 204)
        api.call("get", f"{base}/resource_types/", 200)
        api.call(
            "post",
            f"{base}/resource_types/",
            201,
            format="json",
            data={"name": "OS::Glance::Image", "prefix": "c_"},
        )
        api.call("delete", f"{base}/resource_types/OS::Glance::Image/", 204)
    finally:
        api.call("delete", f"metadefs/namespaces/{name}/", 204)

    documented = {
        (method, path)
        for path, item in openapi["paths"].items()
        for method in item
        if method in METHODS
    }
    missing = documented - api.called
    assert not missing, f"operations never called: {sorted(missing)}"


def test_answers_as_documented_for_the_demo_user(
    contract, demo_client, glance_admin, make_image, cleanup_images, demo_session
):
    api = contract(demo_client)
    public = make_image(name="contract-public", visibility="public", data=b"p" * 512)
    private = make_image(name="contract-private")
    api.call("get", "images/?paginate=true", 200)
    api.call("get", f"images/{public['id']}/", 200)
    api.call("get", f"images/{public['id']}/file/", 200)
    api.call("get", f"images/{private['id']}/", 404)
    api.call(
        "patch",
        f"images/{public['id']}/properties/",
        403,
        format="json",
        data={"updated": {"os_distro": "x"}},
    )
    api.call("delete", f"images/{public['id']}/", 403)
    api.call("get", "info/stores/", 200)  # without the admin-only details
    api.call("get", "metadefs/namespaces/?visibility=public", 200)
    api.call(
        "post",
        "images/",
        403,
        format="json",
        data={
            "name": "contract-public-demo",
            "source_type": "file-direct",
            "disk_format": "raw",
            "visibility": "public",
            "protected": False,
        },
    )
    own = api.call(
        "post",
        "images/",
        201,
        format="json",
        data={
            "name": "contract-demo",
            "source_type": "file-direct",
            "disk_format": "raw",
            "visibility": "private",
            "protected": False,
        },
    ).json()
    cleanup_images.append(own["id"])
    api.call("delete", f"images/{own['id']}/", 204)


def test_answers_without_identity_and_upstream_failures_are_documented(
    contract, anon_client, demo_client, settings, closed_port, silent_port, failing_server
):
    contract(anon_client).call("get", "images/", 401)
    api = contract(demo_client)
    for url, status, more in (
        (f"http://127.0.0.1:{closed_port}", 503, {}),
        (f"http://127.0.0.1:{silent_port}", 504, {"TIMEOUT": 1}),
        (failing_server, 503, {}),
    ):
        settings.GLANCE_API = {"KEYSTONE_URL": devcloud.KEYSTONE_URL, "GLANCE_URL": url, **more}
        api.call("get", "version/", status)
        api.call("get", "images/", status)


def test_a_list_error_about_the_marker_names_it(admin_client, contract):
    api = contract(admin_client)
    response = api.call("get", f"images/?paginate=true&marker={uuid.uuid4()}", 400)
    assert list(response.json()) == ["marker"]


PATHS = [
    "images/",
    "images/x/",
    "images/x/file/",
    "images/x/stage/",
    "images/x/import/",
    "images/x/tags/",
    "images/x/tags/t/",
    "images/x/members/",
    "images/x/members/m/",
    "images/x/properties/",
    "images/x/actions/deactivate/",
    "metadefs/namespaces/",
    "metadefs/namespaces/n/",
    "metadefs/resourcetypes/",
    "info/",
    "info/stores/",
    "schemas/",
    "schemas/image/",
    "version/",
    "",
    "images",
]
BODIES = [
    ("application/json", b'{"name": "x"}'),
    ("application/json", b"{not json"),
    ("application/octet-stream", b"\x00\x01\x02"),
    ("text/plain", b"hello"),
    ("multipart/form-data; boundary=zz", b"--zz\r\nbroken"),
]


@pytest.mark.parametrize("path", PATHS)
def test_options_with_any_body_is_never_a_server_error(admin_client, anon_client, path):
    for content_type, body in BODIES:
        for client in (admin_client, anon_client):
            response = client.options(API + path, data=body, content_type=content_type)
            assert response.status_code < 500, (path, content_type, response.content[:200])
            if response.status_code == 200:
                assert response.json()["name"], response.content


def test_options_describes_the_create_form(admin_client):
    response = admin_client.options(API + "images/")
    fields = response.json()["actions"]["POST"]
    assert list(fields)[:3] == ["name", "description", "source_type"]
    assert "qcow2" in [c["value"] for c in fields["disk_format"]["choices"]]

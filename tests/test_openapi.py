"""The OpenAPI schema drf-spectacular generates: valid, complete, documented."""

import re

import pytest
import yaml
from django.core.management import call_command
from openapi_spec_validator import validate

from glance_api import urls
from glance_api.schema import SchemaView

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(tmp_path_factory) -> dict:
    """``manage.py spectacular --validate --fail-on-warn``: any warning fails the run."""
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def test_schema_is_valid_for_openapi_spec_validator(anon_client):
    """openapi-spec-validator is stricter than drf-spectacular's own check (path
    parameters must belong to their path, for example)."""
    schema = anon_client.get("/api/schema/", {"format": "json"}).json()
    validate(schema)


def test_collections_declare_no_path_parameter(schema):
    for path, method, operation in operations(schema):
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"\{(\w+)\}", path)), (path, method)


def test_lists_are_documented_as_their_envelopes(schema):
    def answer(path):
        content = schema["paths"][f"/api/glance/{path}"]["get"]["responses"]["200"]["content"]
        return content["application/json"]["schema"]

    components = schema["components"]["schemas"]
    for path, name in (
        ("images/", "PaginatedImageList"),
        ("metadefs/namespaces/", "PaginatedNamespaceList"),
    ):
        assert answer(path) == {"$ref": f"#/components/schemas/{name}"}
        assert set(components[name]["required"]) == {"items", "has_more_data", "has_prev_data"}
    assert answer("metadefs/resourcetypes/")["$ref"].endswith("/ResourceTypeList")
    assert answer("version/") == {"$ref": "#/components/schemas/Version"}


def test_image_list_filters_are_documented(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/glance/images/"]["get"]["parameters"]}
    for name in (
        "name",
        "visibility",
        "status",
        "owner",
        "member_status",
        "tag",
        "size_min",
        "size_max",
        "os_hidden",
        "protected",
        "created_at",
        "updated_at",
        "paginate",
        "marker",
        "limit",
        "reversed_order",
        "sort_key",
        "sort_dir",
    ):
        assert name in parameters, name
    assert parameters["tag"]["schema"]["type"] == "array"
    assert "gte" in parameters["created_at"]["schema"]["pattern"]
    assert "all" in parameters["visibility"]["schema"]["enum"]


def test_every_operation_documents_502_503_and_504(schema):
    for path, method, operation in operations(schema):
        assert {"502", "503", "504"} <= set(operation["responses"]), (path, method)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_every_route_of_the_app_is_documented(schema):
    documented = {path.removeprefix("/api/glance/") for path in schema["paths"]}
    routes = {
        pattern.pattern.regex.pattern.removeprefix("^").removesuffix("$")
        for pattern in urls.router.urls
        if "format" not in pattern.pattern.regex.pattern and pattern.name != "api-root"
    }
    as_paths = {
        re.sub(r"\(\?P<(\w+)>[^)]+\)", r"{\1}", route).replace("{pk}", "{id}") for route in routes
    }
    assert as_paths | {"uploads/{secret}/", "healthz/", "readyz/"} == documented


def test_operations_have_ids_tags_security_and_error_answers(schema):
    ids = [operation["operationId"] for _, _, operation in operations(schema)]
    assert len(ids) == len(set(ids))
    for path, method, operation in operations(schema):
        assert operation["tags"], (path, method)
        if path.endswith(("/uploads/{secret}/", "/healthz/", "/readyz/")):  # no token needed
            assert operation.get("security") in (None, [], [{}]), operation.get("security")
            continue
        assert {"keystoneToken": []} in operation["security"], (path, method)
        assert {"keystoneSession": []} in operation["security"], (path, method)
        for code in ("401", "403", "503"):
            assert code in operation["responses"], (path, method, code)
        if method != "delete":
            assert "400" in operation["responses"], (path, method)
        if "{id}" in path or "{namespace}" in path:
            assert "404" in operation["responses"], (path, method)
    schemes = schema["components"]["securitySchemes"]
    assert schemes["keystoneToken"] == {
        **schemes["keystoneToken"],
        "type": "apiKey",
        "in": "header",
        "name": "X-Auth-Token",
    }
    assert schemes["keystoneSession"]["in"] == "cookie"


def test_error_shapes(schema):
    error = schema["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"detail", "code"}
    answer = schema["paths"]["/api/glance/images/{id}/"]["get"]["responses"]["404"]
    assert answer["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_every_json_request_body_has_an_example(schema):
    for path, method, operation in operations(schema):
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            assert content["application/json"].get("examples"), (path, method)


def test_query_parameters_with_types_enums_and_defaults(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/glance/images/"]["get"]["parameters"]}
    assert parameters["sort_dir"]["schema"]["enum"] == ["asc", "desc"]
    assert parameters["sort_dir"]["schema"]["default"] == "desc"
    assert parameters["sort_key"]["schema"]["default"] == "created_at"
    assert parameters["limit"]["schema"]["type"] == "integer"
    assert parameters["paginate"]["schema"]["type"] == "boolean"
    create = schema["paths"]["/api/glance/images/"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(create)
    upload = schema["paths"]["/api/glance/images/{id}/file/"]["put"]["requestBody"]["content"]
    assert set(upload) == {"application/octet-stream"}


# --- the schema: no copy kept per made-up version ----------------------------------------
# (security review two, finding 1)


def test_schema_of_a_version_that_does_not_exist_is_404_and_kept_nowhere(anon_client):
    assert anon_client.get("/api/schema/").status_code == 200
    kept = len(SchemaView._schemas)
    for n in range(5):
        response = anon_client.get(f"/api/schema/?version=made-up-{n}")
        assert response.status_code == 404
        assert b"made-up-" in response.content and b"no versions" in response.content
    assert len(SchemaView._schemas) == kept


def test_the_waits_and_the_stream_are_documented(schema):
    """Prefer and If-None-Match on the three routes a client may wait on, their 304, the
    headers of their answers; the event stream as text/event-stream."""
    paths = schema["paths"]
    for path in (
        "/api/glance/images/",
        "/api/glance/images/{id}/",
        "/api/glance/images/{id}/progress/",
    ):
        operation = paths[path]["get"]
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert {"Prefer", "If-None-Match"} <= headers, path
        assert "304" in operation["responses"], path
        for code in ("200", "304"):
            assert {"ETag", "Preference-Applied"} <= set(operation["responses"][code]["headers"])
    events = paths["/api/glance/images/events/"]["get"]
    assert list(events["responses"]["200"]["content"]) == ["text/event-stream"]
    assert "Last-Event-ID" in {p["name"] for p in events["parameters"]}


def test_q_and_its_limit_are_documented(schema):
    """images/?q=: the parameter (its length, what it matches, its limit) and the answer's
    search object, so that generated clients know both."""
    operation = schema["paths"]["/api/glance/images/"]["get"]
    (q,) = [p for p in operation["parameters"] if p["name"] == "q"]
    assert q["in"] == "query" and q["schema"]["maxLength"] == 255
    assert "SEARCH_MAX_IMAGES" in q["description"] and "literally" in q["description"]
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    if "$ref" in answer:
        answer = schema["components"]["schemas"][answer["$ref"].rsplit("/", 1)[1]]
    search = answer["properties"]["search"]
    assert set(search["required"]) == {"images_searched", "complete"}
    assert "search" not in answer["required"]  # only with q

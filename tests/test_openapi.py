"""The OpenAPI schema drf-spectacular generates: valid, complete, documented."""

import re

import pytest
import yaml
from django.core.management import call_command

from glance_api import urls

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(tmp_path_factory) -> dict:
    """``manage.py spectacular --validate --fail-on-warn``: any warning fails the run."""
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


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
    as_paths = {re.sub(r"\(\?P<(\w+)>[^)]+\)", r"{\1}", route).replace("{pk}", "{id}")
                for route in routes}
    assert as_paths == documented


def test_operations_have_ids_tags_security_and_error_answers(schema):
    ids = [operation["operationId"] for _, _, operation in operations(schema)]
    assert len(ids) == len(set(ids))
    for path, method, operation in operations(schema):
        assert operation["tags"], (path, method)
        assert {"keystoneToken": []} in operation["security"], (path, method)
        assert {"keystoneSession": []} in operation["security"], (path, method)
        for code in ("401", "403", "503"):
            assert code in operation["responses"], (path, method, code)
        if method != "delete":
            assert "400" in operation["responses"], (path, method)
        if "{id}" in path or "{namespace}" in path:
            assert "404" in operation["responses"], (path, method)
    schemes = schema["components"]["securitySchemes"]
    assert schemes["keystoneToken"] == {**schemes["keystoneToken"], "type": "apiKey",
                                        "in": "header", "name": "X-Auth-Token"}
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

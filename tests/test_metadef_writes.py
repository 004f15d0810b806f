"""Writing metadata definitions (issue 24): a namespace imported from a whole document as
the dashboard's "Import Namespace" does, updated, deleted; its objects, properties, tags
and resource-type associations one by one; each write visible at once in the cached lists.
Checked in Glance itself; demo is refused, as Glance's default policy refuses it."""

import uuid

import pytest

NAMESPACES = "/api/glance/metadefs/namespaces/"
RESOURCE_TYPES = "/api/glance/metadefs/resourcetypes/"


def document(name: str) -> dict:
    """A namespace as Glance's etc/metadefs files are written."""
    return {
        "namespace": name,
        "display_name": "Test namespace",
        "description": "Made by the tests.",
        "visibility": "public",
        "protected": False,
        "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "test_"}],
        "properties": {
            "speed": {"title": "Speed", "type": "integer", "minimum": 1, "maximum": 10},
            "mode": {"title": "Mode", "type": "string", "enum": ["fast", "slow"]},
        },
        "objects": [
            {
                "name": "Engine",
                "description": "An engine",
                "properties": {"cylinders": {"title": "Cylinders", "type": "integer"}},
                "required": ["cylinders"],
            }
        ],
        "tags": [{"name": "red"}, {"name": "green"}],
    }


@pytest.fixture
def name(glance_admin):
    """A namespace name of the test's own; the namespace is deleted after the test."""
    name = f"TEST::Writes::{uuid.uuid4().hex[:8]}"
    yield name
    try:
        glance_admin.metadefs_namespace.update(name, namespace=name, protected=False)
        glance_admin.metadefs_namespace.delete(name)
    except Exception:  # never made, or already gone
        pass


@pytest.fixture
def imported(admin_client, name) -> dict:
    response = admin_client.post(NAMESPACES, document(name), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def url(name: str, *rest: str) -> str:
    return NAMESPACES + "/".join((name, *rest)) + "/"


def test_import_a_whole_namespace_in_one_create(admin_client, glance_admin, name):
    response = admin_client.post(NAMESPACES, document(name), format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert response["Location"].endswith(url(name))
    assert set(created["properties"]) == {"speed", "mode"}
    assert [o["name"] for o in created["objects"]] == ["Engine"]
    assert {t["name"] for t in created["tags"]} == {"red", "green"}
    # in Glance itself
    held = glance_admin.metadefs_namespace.get(name)
    assert held["display_name"] == "Test namespace"
    assert held["properties"]["speed"]["maximum"] == 10
    assert held["objects"][0]["required"] == ["cylinders"]
    assert [a["name"] for a in held["resource_type_associations"]] == ["OS::Glance::Image"]
    assert created == admin_client.get(url(name)).json()


def test_a_write_is_visible_at_once_in_the_cached_lists(admin_client, name):
    before = admin_client.get(NAMESPACES, {"resource_type": "OS::Glance::Image"}).json()
    assert name not in [n["namespace"] for n in before["items"]]
    assert admin_client.post(NAMESPACES, document(name), format="json").status_code == 201
    after = admin_client.get(NAMESPACES, {"resource_type": "OS::Glance::Image"}).json()
    (listed,) = [n for n in after["items"] if n["namespace"] == name]
    assert "test_speed" in listed["properties"]  # the association's prefix

    assert (
        admin_client.put(
            url(name, "properties", "speed"),
            {"name": "velocity", "title": "Velocity", "type": "integer"},
            format="json",
        ).status_code
        == 200
    )
    again = admin_client.get(NAMESPACES, {"resource_type": "OS::Glance::Image"}).json()
    (listed,) = [n for n in again["items"] if n["namespace"] == name]
    assert "test_velocity" in listed["properties"] and "test_speed" not in listed["properties"]

    assert admin_client.delete(url(name)).status_code == 204
    gone = admin_client.get(NAMESPACES, {"resource_type": "OS::Glance::Image"}).json()
    assert name not in [n["namespace"] for n in gone["items"]]


def test_a_new_resource_type_shows_in_the_cached_resource_types(admin_client, imported, name):
    kind = f"TEST::Kind::{uuid.uuid4().hex[:6]}"
    assert kind not in [t["name"] for t in admin_client.get(RESOURCE_TYPES).json()["items"]]
    response = admin_client.post(
        url(name, "resource_types"),
        {"name": kind, "prefix": "k_", "properties_target": "image"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert kind in [t["name"] for t in admin_client.get(RESOURCE_TYPES).json()["items"]]


def test_update_its_own_fields_keeps_the_rest(admin_client, glance_admin, imported, name):
    response = admin_client.put(
        url(name), {"visibility": "private", "protected": True}, format="json"
    )
    assert response.status_code == 200, response.content
    held = glance_admin.metadefs_namespace.get(name)
    assert (held["visibility"], held["protected"]) == ("private", True)
    assert held["display_name"] == "Test namespace"  # not sent: kept
    assert held["description"] == "Made by the tests."
    assert held["owner"] == imported["owner"]
    assert set(held["properties"]) == {"speed", "mode"}
    # protected: Glance refuses to delete it
    refused = admin_client.delete(url(name))
    assert refused.status_code == 403
    assert glance_admin.metadefs_namespace.get(name)["namespace"] == name


def test_rename(admin_client, glance_admin, imported, name):
    new_name = f"{name}-renamed"
    response = admin_client.put(url(name), {"namespace": new_name}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["namespace"] == new_name
    assert glance_admin.metadefs_namespace.get(new_name)["display_name"] == "Test namespace"
    admin_client.delete(url(new_name))


def test_delete(admin_client, glance_admin, imported, name):
    assert admin_client.delete(url(name)).status_code == 204
    assert admin_client.get(url(name)).status_code == 404
    assert name not in [n["namespace"] for n in glance_admin.metadefs_namespace.list()]


def test_objects_one_by_one(admin_client, glance_admin, imported, name):
    created = admin_client.post(
        url(name, "objects"),
        {"name": "Wheel", "properties": {"size": {"title": "Size", "type": "number"}}},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["name"] == "Wheel"
    listed = admin_client.get(url(name, "objects")).json()["items"]
    assert {o["name"] for o in listed} == {"Engine", "Wheel"}
    replaced = admin_client.put(
        url(name, "objects", "Wheel"),
        {"name": "Wheel", "description": "Round", "properties": {}},
        format="json",
    )
    assert replaced.status_code == 200, replaced.content
    assert glance_admin.metadefs_object.get(name, "Wheel")["description"] == "Round"
    assert admin_client.get(url(name, "objects", "Wheel")).json()["description"] == "Round"
    assert admin_client.delete(url(name, "objects", "Wheel")).status_code == 204
    assert admin_client.get(url(name, "objects", "Wheel")).status_code == 404


def test_properties_one_by_one(admin_client, glance_admin, imported, name):
    created = admin_client.post(
        url(name, "properties"),
        {"name": "colour", "title": "Colour", "type": "string", "enum": ["red", "blue"]},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["name"] == "colour"
    listed = admin_client.get(url(name, "properties")).json()["items"]
    assert {p["name"] for p in listed} == {"speed", "mode", "colour"}
    one = admin_client.get(url(name, "properties", "colour")).json()
    assert one == {**one, "name": "colour", "type": "string", "enum": ["red", "blue"]}
    assert (
        admin_client.put(
            url(name, "properties", "colour"),
            {"name": "colour", "title": "Colour", "type": "string", "enum": ["green"]},
            format="json",
        ).status_code
        == 200
    )
    assert glance_admin.metadefs_property.get(name, "colour")["enum"] == ["green"]
    assert admin_client.delete(url(name, "properties", "colour")).status_code == 204
    assert "colour" not in glance_admin.metadefs_namespace.get(name)["properties"]


def test_tags_one_by_one_and_in_bulk(admin_client, glance_admin, imported, name):
    def held() -> set[str]:
        return {t["name"] for t in glance_admin.metadefs_tag.list(name)}

    assert admin_client.post(url(name, "tags", "blue")).status_code == 201
    assert held() == {"red", "green", "blue"}
    renamed = admin_client.put(url(name, "tags", "blue"), {"name": "navy"}, format="json")
    assert renamed.status_code == 200, renamed.content
    assert held() == {"red", "green", "navy"}
    assert admin_client.get(url(name, "tags", "navy")).json()["name"] == "navy"
    assert admin_client.delete(url(name, "tags", "navy")).status_code == 204
    assert held() == {"red", "green"}

    appended = admin_client.post(
        url(name, "tags"), {"tags": [{"name": "a"}, {"name": "b"}], "append": True}, format="json"
    )
    assert appended.status_code == 201, appended.content
    assert {t["name"] for t in appended.json()["items"]} == {"red", "green", "a", "b"}
    assert held() == {"red", "green", "a", "b"}
    replaced = admin_client.post(url(name, "tags"), {"tags": [{"name": "only"}]}, format="json")
    assert replaced.status_code == 201, replaced.content
    assert held() == {"only"}
    assert admin_client.delete(url(name, "tags")).status_code == 204
    assert held() == set()


def test_resource_type_associations(admin_client, glance_admin, imported, name):
    response = admin_client.post(
        url(name, "resource_types"), {"name": "OS::Nova::Flavor", "prefix": "test:"}, format="json"
    )
    assert response.status_code == 201, response.content
    listed = admin_client.get(url(name, "resource_types")).json()["items"]
    assert {a["name"] for a in listed} == {"OS::Glance::Image", "OS::Nova::Flavor"}
    assert admin_client.delete(url(name, "resource_types", "OS::Glance::Image")).status_code == 204
    held = glance_admin.metadefs_namespace.get(name)["resource_type_associations"]
    assert [a["name"] for a in held] == ["OS::Nova::Flavor"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "namespace"),
        ({"namespace": "x", "visibility": "everyone"}, "visibility"),
        ({"namespace": "x", "colour": "red"}, "colour"),
        ({"namespace": "x", "objects": [{"description": "no name"}]}, "objects"),
        ({"namespace": "x", "tags": "red"}, "tags"),
        ([], "non_field_errors"),
    ],
)
def test_a_bad_document_is_a_400_naming_the_field(admin_client, glance_admin, body, field):
    response = admin_client.post(NAMESPACES, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_a_bad_property_is_glances_400_and_nothing_is_made(admin_client, imported, name):
    response = admin_client.post(
        url(name, "properties"),
        {"name": "odd", "title": "Odd", "type": "integer", "minimum": "low"},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "minimum" in response.json()["detail"]
    assert admin_client.get(url(name, "properties", "odd")).status_code == 404


def test_a_name_taken_is_a_409(admin_client, imported, name):
    again = admin_client.post(NAMESPACES, document(name), format="json")
    assert again.status_code == 409
    assert (
        admin_client.post(url(name, "objects"), {"name": "Engine"}, format="json").status_code
        == 409
    )


def test_demo_is_refused_and_nothing_changes(demo_client, glance_admin, imported, name):
    assert demo_client.post(NAMESPACES, document(name + "-demo"), format="json").status_code == 403
    # the namespace is public: demo sees it, and Glance's policy refuses each write
    assert demo_client.put(url(name), {"description": "mine"}, format="json").status_code == 403
    assert demo_client.delete(url(name)).status_code == 403
    assert demo_client.post(url(name, "tags", "demo")).status_code == 403
    assert demo_client.delete(url(name, "objects", "Engine")).status_code == 403
    held = glance_admin.metadefs_namespace.get(name)
    assert held["description"] == "Made by the tests."
    assert {t["name"] for t in held["tags"]} == {"red", "green"}
    assert [o["name"] for o in held["objects"]] == ["Engine"]


@pytest.mark.parametrize(
    "kind, body",
    [
        ("objects", {"name": "Wheel", "description": "renamed onto another"}),
        ("properties", {"name": "mode", "title": "Speed", "type": "integer"}),
        ("tags", {"name": "green"}),
    ],
)
def test_renaming_onto_another_is_a_409_and_changes_nothing(
    admin_client, glance_admin, imported, name, kind, body
):
    """Glance's own answer would be a 500 (its database's unique key)."""
    if kind == "objects":
        assert (
            admin_client.post(url(name, "objects"), {"name": "Wheel"}, format="json").status_code
            == 201
        )
    source = {"objects": "Engine", "properties": "speed", "tags": "red"}[kind]
    response = admin_client.put(url(name, kind, source), body, format="json")
    assert response.status_code == 409, response.content
    assert repr(body["name"]) in response.json()["detail"]
    assert admin_client.get(url(name, kind, source)).status_code == 200

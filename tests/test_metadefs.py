"""Metadata definitions against the real dev cloud and its standard namespaces (32 in
Glance 33, 33 in 2024.1's Glance 28: counted in Glance itself)."""

import json
import logging
import time
import uuid

import pytest
from django.core.cache import caches

from devcloud.cloud import GLANCE_ACCESS_LOG
from glance_api.conf import settings as app_settings

NAMESPACES = "/api/glance/metadefs/namespaces/"
RESOURCE_TYPES = "/api/glance/metadefs/resourcetypes/"


@pytest.fixture
def standard(glance_admin) -> int:
    """How many namespaces Glance shows the admin: its etc/metadefs, loaded by the dev cloud."""
    return len(list(glance_admin.metadefs_namespace.list()))


@pytest.fixture
def public(glance_demo) -> int:
    """How many of them are public (OS::OperatingSystem and
    OS::Glance::CommonImageProperties are not)."""
    return len(list(glance_demo.metadefs_namespace.list(filters={"visibility": "public"})))


def items(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["items"]


def names(response) -> list[str]:
    return [namespace["namespace"] for namespace in items(response)]


def by_name(response, name: str) -> dict:
    (namespace,) = [n for n in items(response) if n["namespace"] == name]
    return namespace


@pytest.fixture
def page_size(app_settings):
    app_settings.GLANCE_API = {**app_settings.GLANCE_API, "PAGE_SIZE": 10}


def test_full_list_has_properties_and_objects(demo_client, public):
    response = demo_client.get(NAMESPACES, {"visibility": "public"})
    assert len(items(response)) == public >= 30
    assert set(response.json()) == {"items", "has_more_data", "has_prev_data"}
    topology = by_name(response, "OS::Compute::VirtCPUTopology")
    assert "cpu_sockets" in topology["properties"]
    assert topology["properties"]["cpu_sockets"]["type"] == "integer"
    assert by_name(response, "OS::Software::DBMS")["objects"]


@pytest.mark.parametrize(
    "resource_type, prefix",
    [
        ("OS::Nova::Flavor", "hw:"),
        ("OS::Glance::Image", "hw_"),
    ],
)
def test_resource_type_selects_and_prefixes(demo_client, resource_type, prefix, standard):
    response = demo_client.get(NAMESPACES, {"resource_type": resource_type})
    assert 0 < len(items(response)) < standard
    for namespace in items(response):
        associated = [a["name"] for a in namespace["resource_type_associations"]]
        assert resource_type in associated
    topology = by_name(response, "OS::Compute::VirtCPUTopology")
    assert f"{prefix}cpu_sockets" in topology["properties"]
    assert "cpu_sockets" not in topology["properties"]


def test_resource_types_filter_as_in_the_seed(demo_client):
    filtered = demo_client.get(
        NAMESPACES,
        {"resource_types": "OS::Nova::Flavor", "sort_dir": "desc", "sort_key": "namespace"},
    )
    selected = demo_client.get(NAMESPACES, {"resource_type": "OS::Nova::Flavor"})
    assert names(filtered) == sorted(names(selected), reverse=True)
    topology = by_name(filtered, "OS::Compute::VirtCPUTopology")
    assert "cpu_sockets" in topology["properties"]  # a filter only: no prefix


@pytest.mark.parametrize("sort_dir", ["asc", "desc"])
def test_sorted_by_namespace(admin_client, sort_dir, standard):
    listed = names(admin_client.get(NAMESPACES, {"sort_dir": sort_dir}))
    assert listed == sorted(listed, reverse=sort_dir == "desc") and len(listed) == standard


@pytest.mark.parametrize("sort_dir", ["asc", "desc"])
def test_pages_of_ten_forward_and_back(admin_client, page_size, sort_dir, standard):
    everything = names(admin_client.get(NAMESPACES, {"sort_dir": sort_dir}))
    assert len(everything) == standard and 30 < standard < 40
    query = {"sort_dir": sort_dir, "paginate": "true"}
    pages, marker = [], None
    while True:
        response = admin_client.get(NAMESPACES, {**query, **({"marker": marker} if marker else {})})
        body = response.json()
        pages.append((names(response), body["has_more_data"], body["has_prev_data"]))
        if not body["has_more_data"]:
            break
        marker = pages[-1][0][-1]
    assert [len(p[0]) for p in pages] == [10, 10, 10, standard - 30]  # 31 to 39
    assert [n for p in pages for n in p[0]] == everything
    assert [p[1:] for p in pages] == [(True, False), (True, True), (True, True), (False, True)]
    back = admin_client.get(
        NAMESPACES, {**query, "marker": pages[3][0][0], "reversed_order": "true"}
    )
    assert names(back) == pages[2][0]
    assert (back.json()["has_more_data"], back.json()["has_prev_data"]) == (True, True)
    first = admin_client.get(
        NAMESPACES, {**query, "marker": pages[1][0][0], "reversed_order": "true"}
    )
    assert names(first) == pages[0][0]
    assert (first.json()["has_more_data"], first.json()["has_prev_data"]) == (True, False)


@pytest.mark.parametrize(
    "query, parameter",
    [
        ({"sort_dir": "sideways"}, "sort_dir"),
        ({"sort_key": "owner"}, "sort_key"),
        ({"marker": "No::Such::Namespace"}, "marker"),
        ({"visibility": "shared"}, "visibility"),
        ({"limit": "-3"}, "limit"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_list_parameter_is_400_naming_it(demo_client, query, parameter):
    response = demo_client.get(NAMESPACES, query)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [parameter]


@pytest.fixture
def private_namespace(glance_admin):
    name = f"Test::Private::{uuid.uuid4().hex[:8]}"
    glance_admin.metadefs_namespace.create(
        namespace=name, visibility="private", display_name="Admin's own"
    )
    yield name
    try:
        glance_admin.metadefs_namespace.delete(name)
    except Exception:  # deleted by the test
        pass


def test_private_namespace_stays_private_also_through_the_cache(
    admin_client, demo_client, private_namespace
):
    assert private_namespace in names(admin_client.get(NAMESPACES))  # now cached for admin
    assert private_namespace not in names(demo_client.get(NAMESPACES))
    assert admin_client.get(f"{NAMESPACES}{private_namespace}/").status_code == 200
    assert demo_client.get(f"{NAMESPACES}{private_namespace}/").status_code == 404


def test_list_is_cached_per_caller_for_a_while(
    admin_client, glance_admin, private_namespace, app_settings
):
    assert private_namespace in names(admin_client.get(NAMESPACES))
    glance_admin.metadefs_namespace.delete(private_namespace)
    assert private_namespace in names(admin_client.get(NAMESPACES))  # from the cache
    app_settings.GLANCE_API = {**app_settings.GLANCE_API, "METADEFS_CACHE_SECONDS": 0}
    assert private_namespace not in names(admin_client.get(NAMESPACES))


def test_namespace_detail(demo_client):
    plain = demo_client.get(f"{NAMESPACES}OS::Compute::VirtCPUTopology/")
    assert plain.status_code == 200
    assert plain.json()["namespace"] == "OS::Compute::VirtCPUTopology"
    assert "cpu_sockets" in plain.json()["properties"]
    flavor = demo_client.get(
        f"{NAMESPACES}OS::Compute::VirtCPUTopology/", {"resource_type": "OS::Nova::Flavor"}
    )
    assert "hw:cpu_sockets" in flavor.json()["properties"]


def test_unknown_namespace_is_404(demo_client):
    response = demo_client.get(f"{NAMESPACES}No::Such::Namespace/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_resource_types(demo_client):
    listed = [t["name"] for t in items(demo_client.get(RESOURCE_TYPES))]
    assert {"OS::Nova::Flavor", "OS::Glance::Image", "OS::Cinder::Volume"} <= set(listed)
    one = items(demo_client.get(RESOURCE_TYPES, {"name": "OS::Nova::Flavor"}))
    assert [t["name"] for t in one] == ["OS::Nova::Flavor"]
    response = demo_client.get(RESOURCE_TYPES, {"colour": "red"})
    assert response.status_code == 400 and "colour" in response.json()


def test_metadefs_need_an_identity(anon_client):
    assert anon_client.get(NAMESPACES).status_code == 401
    assert anon_client.get(RESOURCE_TYPES).status_code == 401


def test_reversed_order_is_part_of_the_cached_query(admin_client, page_size):
    """Forward and back from the same marker are two answers, also from the cache."""
    everything = names(admin_client.get(NAMESPACES))
    query = {"paginate": "true", "marker": everything[15]}
    forward = names(admin_client.get(NAMESPACES, query))
    back = names(admin_client.get(NAMESPACES, {**query, "reversed_order": "true"}))
    assert forward == everything[16:26] and back == everything[5:15]
    assert names(admin_client.get(NAMESPACES, query)) == forward  # cached, still forward


def _glance_calls(caplog) -> list[int]:
    return [
        json.loads(r.getMessage())["glance_calls"]
        for r in caplog.records
        if r.name == "glance_api.requests"
    ]


def test_an_old_entry_is_refreshed_in_the_background(admin_client, app_settings, caplog):
    """Past half its life an entry is still served at once, and refreshed by a thread
    of its own; so after its first expiry the next caller is not cold."""
    app_settings.GLANCE_API = {**app_settings.GLANCE_API, "METADEFS_CACHE_SECONDS": 6}
    caplog.set_level(logging.INFO, logger="glance_api.requests")
    query = {"resource_type": "OS::Nova::Flavor"}
    first = admin_client.get(NAMESPACES, query)
    stored = time.monotonic()  # the entry was stored before this
    time.sleep(3.3)  # past half of its 6 s
    old = admin_client.get(NAMESPACES, query)  # served from the cache; starts a refresh
    assert old.json() == first.json()
    time.sleep(max(0.0, 6.3 - (time.monotonic() - stored)))  # the first entry has expired
    again = admin_client.get(NAMESPACES, query)
    assert again.json() == first.json()
    assert _glance_calls(caplog)[0] > 10 and _glance_calls(caplog)[1:] == [0, 0]
    # The refresh went to Glance with the id of the request that found the entry old.
    request_id = old["X-OpenStack-Request-ID"]
    refreshed = [
        line
        for line in GLANCE_ACCESS_LOG.read_text().splitlines()
        if line.endswith(f" {request_id}")
    ]
    assert any("GET /v2/metadefs/namespaces?" in line for line in refreshed), refreshed


def test_an_entry_nobody_asks_for_in_its_second_half_expires(admin_client, app_settings, caplog):
    app_settings.GLANCE_API = {**app_settings.GLANCE_API, "METADEFS_CACHE_SECONDS": 2}
    caplog.set_level(logging.INFO, logger="glance_api.requests")
    query = {"resource_type": "OS::Nova::Flavor"}
    admin_client.get(NAMESPACES, query)
    time.sleep(2.2)
    admin_client.get(NAMESPACES, query)
    assert all(calls > 10 for calls in _glance_calls(caplog))


# --- free text in a namespace query makes no cache entry and no Glance call --------------
# (security review three, finding 1)


def _cache_keys() -> set[str]:
    return set(caches[app_settings.CACHE_ALIAS]._cache)  # LocMemCache, the tests' cache


def test_free_text_in_a_namespace_query_makes_no_cache_entry_and_no_glance_call(
    demo_client, caplog
):
    caplog.set_level(logging.INFO, logger="glance_api.requests")
    first = demo_client.get(NAMESPACES, {"resource_types": "OS::Glance::Image"})
    assert first.status_code == 200 and first.json()["items"]
    keys = _cache_keys()
    queries = []
    for n in range(8):
        made_up = f"Made::Up::{uuid.uuid4().hex}"
        queries += [
            {"resource_types": f"OS::Glance::Image,{made_up}"},
            {"resource_type": made_up},
            {"resource_type": "OS::Glance::Image", "properties_target": made_up},
            {"resource_types": made_up, "paginate": "true", "limit": str(n + 1)},
        ]
    for query in queries:
        response = demo_client.get(NAMESPACES, query)
        assert response.status_code == 200, response.content
    assert _cache_keys() == keys
    assert _glance_calls(caplog)[0] > 10 and set(_glance_calls(caplog)[1:]) == {0}


def test_an_unknown_resource_type_matches_nothing_and_a_known_one_as_before(demo_client):
    image = demo_client.get(NAMESPACES, {"resource_types": "OS::Glance::Image"}).json()["items"]
    both = demo_client.get(
        NAMESPACES, {"resource_types": f"OS::Glance::Image,Made::Up::{uuid.uuid4().hex}"}
    )
    assert both.json()["items"] == image
    none = demo_client.get(NAMESPACES, {"resource_type": f"Made::Up::{uuid.uuid4().hex}"})
    assert none.status_code == 200 and none.json()["items"] == []


def test_an_unknown_marker_is_a_400_and_stores_nothing(demo_client):
    assert demo_client.get(NAMESPACES).status_code == 200
    keys = _cache_keys()
    for _ in range(5):
        response = demo_client.get(NAMESPACES, {"marker": f"No::Such::{uuid.uuid4().hex}"})
        assert response.status_code == 400 and list(response.json()) == ["marker"]
    assert _cache_keys() == keys


def test_the_prefixes_are_glances_own(demo_client, glance_demo):
    """The in-process prefixing gives what Glance gives for the resource type."""
    for resource_type in ("OS::Nova::Flavor", "OS::Glance::Image", "OS::Cinder::Volume"):
        listed = demo_client.get(NAMESPACES, {"resource_type": resource_type}).json()["items"]
        assert listed
        for namespace in listed:
            theirs = glance_demo.http_client.get(
                f"/v2/metadefs/namespaces/{namespace['namespace']}?resource_type={resource_type}"
            )[1]
            theirs.pop("self", None)
            # Glance lists a namespace's objects in no defined order (no ORDER BY: its
            # database's order, which can change between two reads)
            for answer in (namespace, theirs):
                answer["objects"] = sorted(answer.get("objects", []), key=lambda o: o["name"])
            assert namespace == theirs


def test_a_filtered_list_is_glances_filtered_list(demo_client, glance_demo):
    for query in (
        {"resource_types": "OS::Nova::Flavor,OS::Cinder::Volume", "sort_dir": "desc"},
        {"visibility": "public", "sort_key": "created_at"},
    ):
        ours = [n["namespace"] for n in demo_client.get(NAMESPACES, query).json()["items"]]
        filters = {k: v for k, v in query.items() if k not in ("sort_dir", "sort_key")}
        theirs = [
            n["namespace"]
            for n in glance_demo.metadefs_namespace.list(
                filters=filters,
                sort_dir=query.get("sort_dir", "asc"),
                sort_key=query.get("sort_key", "namespace"),
            )
        ]
        assert sorted(ours) == sorted(theirs) and ours
        if query.get("sort_key", "namespace") == "namespace":
            assert ours == theirs


# --- resource types are cached per caller scope ------------------------------------------
# (security review three, finding 11)


def test_resource_types_are_cached_per_caller_scope(admin_client, demo_client, caplog):
    caplog.set_level(logging.INFO, logger="glance_api.requests")
    assert admin_client.get(RESOURCE_TYPES).status_code == 200
    assert demo_client.get(RESOURCE_TYPES).status_code == 200  # not the admin's answer
    assert admin_client.get(RESOURCE_TYPES).status_code == 200
    assert _glance_calls(caplog) == [1, 1, 0]

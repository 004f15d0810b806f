"""GET images/: the dashboard's paging, limits, sorting and Glance's filters, for real."""

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import IMAGES

COUNT = 26
SIZES = {0: 1000, 1: 2000, 2: 3000}  # images with data, by index


@pytest.fixture(scope="module")
def batch(glance_admin):
    """26 images of the admin, marked with a property of their own so lists see only them.

    Images 0-2 have data (active), 3-4 are public, 5-6 carry a tag, odd ones a property.
    """
    mark, tag = uuid.uuid4().hex, f"tag-{uuid.uuid4().hex[:8]}"
    images = []
    for index in range(COUNT):
        attributes = {
            "name": f"list-{index:02d}",
            "disk_format": "raw",
            "container_format": "bare",
            "batch": mark,
            "visibility": "public" if index in (3, 4) else "private",
        }
        if index % 2:
            attributes["parity"] = "odd"
        if index in (5, 6):
            attributes["tags"] = [tag, "both"] if index == 5 else [tag]
        image = glance_admin.images.create(**attributes)
        if index in SIZES:
            glance_admin.images.upload(image["id"], io.BytesIO(b"d" * SIZES[index]))
        images.append(image)
    yield {"mark": mark, "tag": tag, "images": images}
    for image in images:
        glance_admin.images.delete(image["id"])


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["items"]]


def flags(response) -> tuple[bool, bool]:
    body = response.json()
    return body["has_more_data"], body["has_prev_data"]


@pytest.fixture
def page_size(app_settings):
    app_settings.GLANCE_API = {**app_settings.GLANCE_API, "PAGE_SIZE": 10}
    return 10


@pytest.mark.parametrize("sort_dir", ["asc", "desc"])
def test_pages_forward_and_back(admin_client, batch, page_size, sort_dir):
    everything = sorted(f"list-{i:02d}" for i in range(COUNT))
    if sort_dir == "desc":
        everything.reverse()
    query = {"batch": batch["mark"], "paginate": "true", "sort_key": "name", "sort_dir": sort_dir}
    ids = {image["name"]: image["id"] for image in batch["images"]}

    first = admin_client.get(IMAGES, query)
    assert names(first) == everything[:10] and flags(first) == (True, False)
    second = admin_client.get(IMAGES, {**query, "marker": ids[everything[9]]})
    assert names(second) == everything[10:20] and flags(second) == (True, True)
    last = admin_client.get(IMAGES, {**query, "marker": ids[everything[19]]})
    assert names(last) == everything[20:] and flags(last) == (False, True)

    # Back: the marker is the first image of the page shown.
    back = admin_client.get(
        IMAGES, {**query, "marker": ids[everything[20]], "reversed_order": "true"}
    )
    assert names(back) == everything[10:20] and flags(back) == (True, True)
    start = admin_client.get(
        IMAGES, {**query, "marker": ids[everything[10]], "reversed_order": "true"}
    )
    assert names(start) == everything[:10] and flags(start) == (True, False)


def test_default_order_is_newest_first(admin_client, batch, page_size):
    response = admin_client.get(IMAGES, {"batch": batch["mark"], "paginate": "true"})
    created = [item["created_at"] for item in response.json()["items"]]
    assert len(created) == 10 and created == sorted(created, reverse=True)


def test_without_paginate_every_image_comes_back(admin_client, batch):
    response = admin_client.get(IMAGES, {"batch": batch["mark"]})
    assert len(names(response)) == COUNT and flags(response) == (False, False)


def test_limit_and_its_cap(admin_client, batch, app_settings):
    assert len(names(admin_client.get(IMAGES, {"batch": batch["mark"], "limit": 5}))) == 5
    app_settings.GLANCE_API = {**app_settings.GLANCE_API, "RESULT_LIMIT": 7}
    assert len(names(admin_client.get(IMAGES, {"batch": batch["mark"], "limit": 100}))) == 7
    assert len(names(admin_client.get(IMAGES, {"batch": batch["mark"]}))) == 7


def test_limit_sets_the_page_size(admin_client, batch):
    response = admin_client.get(IMAGES, {"batch": batch["mark"], "paginate": "true", "limit": 4})
    assert len(names(response)) == 4 and flags(response) == (True, False)


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({"name": "list-03"}, {3}),
        ({"status": "active"}, {0, 1, 2}),
        ({"visibility": "public"}, {3, 4}),
        ({"is_public": "true"}, {3, 4}),
        ({"size_min": "1500"}, {1, 2}),
        ({"size_max": "2500"}, {0, 1}),
        ({"size_min": "1500", "size_max": "2500"}, {1}),
        ({"parity": "odd"}, set(range(1, COUNT, 2))),
        ({"created_at": "lt:2000-01-01T00:00:00Z"}, set()),
        ({"disk_format": "qcow2"}, set()),
    ],
)
def test_filters_go_to_glance(admin_client, batch, filters, expected):
    response = admin_client.get(IMAGES, {"batch": batch["mark"], **filters})
    assert set(names(response)) == {f"list-{i:02d}" for i in expected}


def test_filter_by_tags(admin_client, batch):
    one = admin_client.get(IMAGES, {"batch": batch["mark"], "tag": batch["tag"]})
    assert set(names(one)) == {"list-05", "list-06"}
    both = admin_client.get(f"{IMAGES}?batch={batch['mark']}&tag={batch['tag']}&tag=both")
    assert names(both) == ["list-05"]


def test_filter_by_owner_and_created_at(admin_client, batch, admin_session):
    owner = admin_session.get_project_id()
    assert len(names(admin_client.get(IMAGES, {"batch": batch["mark"], "owner": owner}))) == COUNT
    other = admin_client.get(IMAGES, {"batch": batch["mark"], "owner": uuid.uuid4().hex})
    assert names(other) == []
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = admin_client.get(IMAGES, {"batch": batch["mark"], "created_at": f"gte:{an_hour_ago}"})
    assert len(names(recent)) == COUNT


def test_demo_sees_only_the_public_ones(demo_client, batch):
    assert set(names(demo_client.get(IMAGES, {"batch": batch["mark"]}))) == {"list-03", "list-04"}


@pytest.mark.parametrize(
    "query, parameter",
    [
        ({"sort_dir": "up"}, "sort_dir"),
        ({"sort_key": "color"}, "sort_key"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"paginate": "perhaps"}, "paginate"),
        ({"marker": str(uuid.uuid4())}, "marker"),
        ({"marker": "not-an-id"}, "marker"),
        ({"size_min": "big"}, "size_min"),
        ({"visibility": "everyone"}, "visibility"),
        ({"protected": "maybe"}, "protected"),
        ({"created_at": "gte:yesterday"}, "created_at"),
        ({"created_at": "around:2020-01-01T00:00:00Z"}, "created_at"),
    ],
)
def test_bad_list_parameter_is_400_naming_it(admin_client, query, parameter):
    response = admin_client.get(IMAGES, query)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [parameter]

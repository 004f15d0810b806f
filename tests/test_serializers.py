"""Validation that needs no cloud: the serializers against a static copy of the part of
Glance's image schema they read (formats and typed attributes)."""

import pytest
from django.http import QueryDict

from glance_api.pagination import DashboardPagination, PageRequest
from glance_api.serializers import (
    ImageCreateSerializer,
    ImageListQuerySerializer,
    NamespaceListQuerySerializer,
)
from tests.helpers import direct_create

SCHEMA = {
    "properties": {
        "disk_format": {"enum": [None, "raw", "qcow2", "iso"]},
        "container_format": {"enum": [None, "bare", "ovf", "docker"]},
        "os_hidden": {"type": "boolean"},
        "min_ram": {"type": "integer"},
    }
}
PAGING = DashboardPagination().query_params


def image_query(query: str) -> ImageListQuerySerializer:
    serializer = ImageListQuerySerializer(data=QueryDict(query), context={"also_known": PAGING})
    serializer.is_valid()
    return serializer


def test_image_list_filters_go_to_glance_as_it_takes_them():
    query = image_query(
        "name=a&tag=x&tag=y&protected=1&is_public=false&size_min=10"
        "&created_at=gte:2026-01-01T00:00:00Z&os_distro=debian&paginate=true"
    )
    assert query.errors == {}
    assert query.filters() == {
        "name": "a",
        "tag": ["x", "y"],
        "protected": "true",
        "visibility": "private",
        "size_min": 10,
        "created_at": "gte:2026-01-01T00:00:00Z",
        "os_distro": "debian",
    }


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("created_at=2026-13-01T00:00:00Z", "created_at"),
        ("created_at=sometime:2026-01-01T00:00:00Z", "created_at"),
        ("status=sleeping", "status"),
        ("os_hidden=perhaps", "os_hidden"),
        ("size_max=-1", "size_max"),
        ("name=" + "n" * 256, "name"),
        ("colour=" + "c" * 256, "colour"),
    ],
)
def test_image_list_filter_errors_name_the_parameter(query, parameter):
    assert list(image_query(query).errors) == [parameter]


def test_namespace_list_refuses_unknown_parameters_but_not_paging():
    query = NamespaceListQuerySerializer(
        data=QueryDict("colour=red&limit=3&format=json"), context={"also_known": PAGING}
    )
    assert not query.is_valid()
    assert list(query.errors) == ["colour"]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", PageRequest(fetch=1000)),
        ("paginate=true", PageRequest(fetch=21, page_size=20)),
        (
            "paginate=true&limit=5&marker=m&reversed_order=true",
            PageRequest(fetch=6, page_size=5, marker="m", reversed_order=True),
        ),
        ("limit=5000", PageRequest(fetch=1000)),
    ],
)
def test_page_requests_and_their_caps(rf, query, expected):
    from rest_framework.request import Request

    assert DashboardPagination().page_request(Request(rf.get(f"/?{query}"))) == expected


def test_reversed_page_comes_back_in_the_original_order():
    page = PageRequest(fetch=3, page_size=2, marker="m", reversed_order=True).cut([3, 2, 1])
    assert (page.items, page.has_more_data, page.has_prev_data) == ([2, 3], True, True)
    assert PageRequest(fetch=3, page_size=2, reversed_order=True).sort_dir("desc") == "asc"


def create(**fields) -> ImageCreateSerializer:
    body = direct_create("x", **fields)
    serializer = ImageCreateSerializer(data=body, context={"schema": SCHEMA})
    serializer.is_valid()
    return serializer


def test_create_takes_the_formats_of_the_glance_answering():
    assert "disk_format" in create(disk_format="vhdx").errors  # a default, not this Glance's
    assert create(disk_format="docker").glance_attributes()["container_format"] == "docker"
    assert "container_format" in create(container_format="ova").errors


def test_create_types_custom_properties_by_glances_schema():
    attributes = create(os_hidden="true", min_ram=64, os_distro=12).glance_attributes()
    assert (attributes["os_hidden"], attributes["min_ram"], attributes["os_distro"]) == (
        True,
        64,
        "12",
    )
    assert list(create(os_hidden="maybe").errors) == ["os_hidden"]


def test_create_with_a_url_as_location_needs_the_setting(settings):
    settings.GLANCE_API = {}
    url = {"source_type": "url", "image_url": "http://example.com/disk.img"}
    assert list(create(**url).errors) == ["import_data"]
    assert create(**url, import_data=True).errors == {}
    settings.GLANCE_API = {"ALLOW_IMAGE_LOCATION": True}
    assert create(**url).errors == {}


@pytest.mark.parametrize(
    "url",
    [
        "http://user:pw@127.0.0.1:5000/v3",
        "https://u@example.com/x",
        "file:///etc/passwd",
        "ftp://example.com/x.img",
    ],
)
def test_image_url_must_be_plain_http(url):
    assert list(create(source_type="url", image_url=url, import_data=True).errors) == ["image_url"]


def debug_report(call) -> str:
    """The text of Django's debug page (and error mail) for the exception ``call`` raises."""
    import sys

    from django.views.debug import ExceptionReporter

    try:
        call()
    except Exception:
        return ExceptionReporter(None, *sys.exc_info()).get_traceback_text()
    raise AssertionError("no exception")


def test_a_debug_page_shows_no_token_or_password(settings, closed_port):
    from glance_api import auth, keystone

    token = "gAAAAA" + "s3cr3t" * 50 + " "  # malformed: refused inside validate_token
    for call in (
        lambda: keystone.validate_token(token),
        lambda: auth.KeystoneTokenAuthentication().authenticate(
            type("R", (), {"META": {"HTTP_X_AUTH_TOKEN": token}})()
        ),
    ):
        report = debug_report(call)
        assert "s3cr3ts3cr3t" not in report and "********" in report
    settings.GLANCE_API = {"KEYSTONE_URL": f"http://127.0.0.1:{closed_port}/v3"}
    password = "pa55w0rd-" + "xyz" * 3  # the report shows this line, not the value
    report = debug_report(lambda: keystone.password_login("demo", password, "", "Default"))
    assert "pa55w0rd-xyzxyzxyz" not in report and "********" in report

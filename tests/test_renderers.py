"""The orjson renderer writes what DRF's JSONRenderer writes."""

import datetime
import decimal
import uuid

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer as DRFJSONRenderer

from glance_api.renderers import JSONRenderer

AWARE = datetime.datetime(2026, 11, 30, 12, 0, 1, 123456, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize("data", [
    {"name": "cirros", "size": 12716032, "protected": False, "checksum": None,
     "tags": ["a", "b"], "properties": {"os_distro": "debian", "ratio": 0.25}},
    [{"id": str(uuid.uuid4()), "name": f"image {i}"} for i in range(50)],
    {"name": "Grüße, 画像 \u2028 and \u2029 \"quoted\" \\ </script>"},
    {"when": AWARE, "day": AWARE.date(), "amount": decimal.Decimal("1.50"),
     "lazy": gettext_lazy("Not found."), "id": uuid.UUID(int=7)},
    {"big": 2**70},  # beyond orjson: DRF's rendering
    {1: "a non-string key"},
    None,
])
def test_the_same_bytes_as_drf(data):
    assert JSONRenderer().render(data) == DRFJSONRenderer().render(data)


def test_indented_answers_are_drf_s():
    data = {"name": "cirros", "tags": ["a"]}
    for media_type in ("application/json; indent=4", "application/json; indent=2"):
        assert JSONRenderer().render(data, media_type) == DRFJSONRenderer().render(
            data, media_type)
    assert b"\n    " in JSONRenderer().render(data, "application/json; indent=4")


def test_what_neither_can_encode_is_refused_alike():
    with pytest.raises(TypeError):
        DRFJSONRenderer().render({"x": object()})
    with pytest.raises(TypeError):
        JSONRenderer().render({"x": object()})

"""Content negotiation: remembered answers are DRF's own answers."""

from django.http import Http404
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from glance_api.negotiation import ContentNegotiation
from glance_api.renderers import RENDERERS
from glance_api.views import BYTES_RENDERERS

ACCEPTS = [
    None, "*/*", "application/json", "text/html", "application/json; indent=4",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "application/octet-stream", "application/*", "text/plain, application/json;q=0.5",
]


def drf_request(accept: str | None, query: str = "") -> Request:
    headers = {"HTTP_ACCEPT": accept} if accept is not None else {}
    return Request(APIRequestFactory().get(f"/api/glance/version/{query}", **headers))


def outcome(negotiation, request, renderer_classes, format_suffix=None):
    renderers = [renderer() for renderer in renderer_classes]
    try:
        renderer, media_type = negotiation.select_renderer(request, renderers, format_suffix)
    except (exceptions.NotAcceptable, Http404) as exc:
        return type(exc).__name__
    assert renderer in renderers
    return type(renderer).__name__, media_type


def test_negotiation_answers_as_drf_does_first_and_remembered():
    """Every combination, twice over through one process-wide memory, so that answers
    for different headers, formats and renderer lists cannot be mistaken for another."""
    cases = [(accept, query, suffix, classes)
             for classes in (RENDERERS, BYTES_RENDERERS)
             for query, suffix in (("", None), ("?format=json", None), ("?format=api", None),
                                   ("", "json"), ("", "xml"))
             for accept in ACCEPTS]
    for _ in range(2):
        for accept, query, suffix, classes in cases:
            expected = outcome(DefaultContentNegotiation(), drf_request(accept, query),
                               classes, suffix)
            answer = outcome(ContentNegotiation(), drf_request(accept, query), classes, suffix)
            assert answer == expected, (accept, query, suffix, classes)
    assert ContentNegotiation._known  # the second round was answered from memory


def test_negotiation_keeps_a_bounded_number_of_answers():
    for index in range(ContentNegotiation.size + 20):
        outcome(ContentNegotiation(), drf_request(f"application/json; v={index}"), RENDERERS)
    assert len(ContentNegotiation._known) == ContentNegotiation.size


def test_negotiation_refusal_is_406_every_time(demo_client):
    for _ in range(2):
        response = demo_client.get("/api/glance/version/", HTTP_ACCEPT="image/png")
        assert response.status_code == 406
        assert response.json()["code"] == "not_acceptable"
    assert ContentNegotiation._known == {}
    response = demo_client.get("/api/glance/version/", HTTP_ACCEPT="application/json; indent=4")
    assert response.status_code == 200 and response.content.startswith(b'{\n    "version"')

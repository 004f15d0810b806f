"""The dashboard's paging, as one DRF paginator: its query, its caps, its envelope, its schema.

Glance pages by marker (the id or name of the last item seen). The dashboard adds a way
back: ``reversed_order`` walks from ``marker`` (then the first item of the page shown) in
the opposite direction, and the page comes back in the original order. Its answers are
``{"items": [...], "has_more_data": bool, "has_prev_data": bool}``.
"""

from dataclasses import dataclass, field

from rest_framework import serializers
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from .conf import settings


@dataclass(frozen=True)
class PageRequest:
    """What to ask Glance for: ``fetch`` items from ``marker``, in which direction.

    ``page_size`` is None when the caller did not ask for pages (then every item up to
    ``fetch``, the capped limit, is the answer).
    """

    fetch: int
    page_size: int | None = None
    marker: str | None = None
    reversed_order: bool = False

    def sort_dir(self, requested: str) -> str:
        """The direction to ask Glance for: the opposite one when walking back."""
        if not self.reversed_order:
            return requested
        return "asc" if requested == "desc" else "desc"

    def cut(self, items: list) -> "Page":
        """The page within up to ``page_size + 1`` items fetched from ``marker``."""
        if self.page_size is None:
            return Page(list(items))
        items = list(items)
        has_more_data = has_prev_data = False
        if len(items) > self.page_size:
            items = items[: self.page_size]
            has_more_data = True
            has_prev_data = self.marker is not None
        elif self.reversed_order and self.marker is not None:
            has_more_data = True
        elif self.marker is not None:
            has_prev_data = True
        if self.reversed_order:
            items.reverse()
        return Page(items, has_more_data, has_prev_data)


@dataclass
class Page:
    """One answer of a list: its items and, when paginated, whether there is more."""

    items: list = field(default_factory=list)
    has_more_data: bool = False
    has_prev_data: bool = False


def unknown_marker(marker: str, what: str) -> serializers.ValidationError:
    """The 400 for a marker that is no item of the list (an image id, a namespace name)."""
    return serializers.ValidationError(
        {"marker": [f"Unknown marker {marker!r}: it must be the {what} of an item of the list."]}
    )


class PageQuerySerializer(serializers.Serializer):
    paginate = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Pages of the configured page size (or of limit), with has_more_data and "
        "has_prev_data.",
    )
    marker = serializers.CharField(
        required=False,
        max_length=255,
        help_text="Where the page starts: the id (or name) of the last item of the page shown "
        "(the first one with reversed_order).",
    )
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="At most this many items (capped by the server's result limit); with "
        "paginate, the page size.",
    )
    reversed_order = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Walk back from marker (the first item of the page shown), as the "
        "dashboard's previous-page link does.",
    )


class DashboardPagination(BasePagination):
    """Paging by marker, forward and back, as the OpenStack dashboard does it.

    Views call :meth:`page_request` to read and check the query, hand the
    :class:`PageRequest` to the service, and answer with :meth:`get_paginated_response`.
    Caps: ``RESULT_LIMIT`` (most items of one answer) and ``PAGE_SIZE`` (the default page).
    """

    query_serializer_class = PageQuerySerializer

    @property
    def query_params(self) -> frozenset[str]:
        return frozenset(self.query_serializer_class().fields)

    def page_request(self, request) -> PageRequest:
        """The page asked for; a bad parameter is a 400 naming it."""
        query = self.query_serializer_class(data=request.query_params)
        query.is_valid(raise_exception=True)
        options = query.validated_data
        limit = min(options.get("limit", settings.RESULT_LIMIT), settings.RESULT_LIMIT)
        if not options["paginate"]:
            return PageRequest(
                fetch=limit, marker=options.get("marker"), reversed_order=options["reversed_order"]
            )
        page_size = min(options.get("limit", settings.PAGE_SIZE), limit)
        return PageRequest(
            fetch=page_size + 1,
            page_size=page_size,
            marker=options.get("marker"),
            reversed_order=options["reversed_order"],
        )

    def paginate_queryset(self, queryset, request, view=None):  # pragma: no cover - DRF API
        raise NotImplementedError("Glance pages itself: use page_request() and a service.")

    def get_paginated_response(self, data, page: Page | None = None) -> Response:
        page = page or Page()
        return Response(
            {
                "items": data,
                "has_more_data": page.has_more_data,
                "has_prev_data": page.has_prev_data,
            }
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["items", "has_more_data", "has_prev_data"],
            "properties": {
                "items": schema,
                "has_more_data": {
                    "type": "boolean",
                    "description": "With paginate: there is a next page (in the list's order).",
                },
                "has_prev_data": {
                    "type": "boolean",
                    "description": "With paginate: there is a previous page.",
                },
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        """drf-spectacular documents these on every list that uses this paginator."""
        parameters = []
        for name, query_field in self.query_serializer_class().fields.items():
            kind = {serializers.BooleanField: "boolean", serializers.IntegerField: "integer"}.get(
                type(query_field), "string"
            )
            schema = {"type": kind}
            if query_field.default not in (None, serializers.empty):
                schema["default"] = query_field.default
            if kind == "integer":
                schema["minimum"] = 1
            if kind == "string":
                schema["maxLength"] = 255
            parameters.append(
                {
                    "name": name,
                    "required": False,
                    "in": "query",
                    "description": str(query_field.help_text),
                    "schema": schema,
                }
            )
        return parameters


class ImagePagination(DashboardPagination):
    """The image list's paging; with ``q``, its answer also says how the search went."""

    def get_paginated_response(self, data, page: Page | None = None, search=None) -> Response:
        response = super().get_paginated_response(data, page)
        if search is not None:
            response.data["search"] = search
        return response

    def get_paginated_response_schema(self, schema: dict) -> dict:
        answer = super().get_paginated_response_schema(schema)
        answer["properties"]["search"] = {
            "type": "object",
            "description": "With q: how many images of the list had their names read, "
            "and whether that was every one (false: the list has more than the server's "
            "SEARCH_MAX_IMAGES, and only the first were searched).",
            "required": ["images_searched", "complete"],
            "properties": {
                "images_searched": {"type": "integer", "minimum": 0},
                "complete": {"type": "boolean"},
            },
        }
        return answer

"""The query parameters of lists: sorting and filters, each a declared field.

Declared fields give validation (a bad value is a 400 naming the parameter) and the
OpenAPI parameters at once. Paging (``paginate``, ``marker``, ``limit``,
``reversed_order``) belongs to ``glance_api.pagination.DashboardPagination``.
"""

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..conf import settings as app_settings
from .images import VISIBILITIES
from .sharing import MEMBER_STATUSES

SORT_DIRS = ("asc", "desc")
IMAGE_SORT_KEYS = (
    "name",
    "status",
    "container_format",
    "disk_format",
    "size",
    "id",
    "created_at",
    "updated_at",
)
IMAGE_STATUSES = (
    "queued",
    "saving",
    "uploading",
    "importing",
    "active",
    "deactivated",
    "killed",
    "deleted",
    "pending_delete",
)
# what a list of shared images filters on: the caller's answer, or any
MEMBER_STATUS_FILTERS = (*MEMBER_STATUSES, "all")
TIME_OPERATORS = ("gt", "gte", "lt", "lte", "eq", "neq")
NAMESPACE_SORT_KEYS = ("namespace", "created_at", "updated_at")
MAX_LENGTH = 255  # of a filter's value (Glance's own limit for names and properties)
# Query parameters of DRF's own (?format=json) that are never filters.
DRF_QUERY_PARAMS = frozenset({"format"})


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^((gt|gte|lt|lte|eq|neq):)?\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?"
        r"(Z|[+-]\d\d:?\d\d)?$",
        "example": "gte:2026-01-01T00:00:00Z",
    }
)
class TimeFilterField(serializers.CharField):
    """Glance's time filter: ``[operator:]ISO 8601 date-time``."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        head, colon, rest = value.partition(":")
        moment = value
        if colon and head in TIME_OPERATORS:
            moment = rest
        elif colon and head.isalpha():  # a bare date-time starts with digits
            raise serializers.ValidationError(
                f'Unknown operator "{head}"; use one of {", ".join(TIME_OPERATORS)}.'
            )
        try:
            parsed = parse_datetime(moment)
        except ValueError:  # well formed, but not a real date (month 13, ...)
            parsed = None
        if parsed is None:
            raise serializers.ValidationError(
                f'"{moment}" is not an ISO 8601 date-time (e.g. 2026-01-31T12:00:00Z).'
            )
        return value


class QuerySerializer(serializers.Serializer):
    """A list's query. ``context["also_known"]``: parameters read elsewhere (paging).

    With ``other_filters`` the parameters that are not declared are filters for Glance;
    without, each one is a 400 naming it.
    """

    other_filters = False
    # Declared fields that are not filters (sorting, options of this API).
    not_filters: frozenset[str] = frozenset({"sort_key", "sort_dir"})

    def known(self) -> set[str]:
        return set(self.fields) | set(self.context.get("also_known", ())) | DRF_QUERY_PARAMS

    def validate(self, attrs):
        if self.other_filters:
            too_long = sorted(
                key
                for key in set(self.initial_data) - self.known()
                if len(key) > MAX_LENGTH
                or any(len(value) > MAX_LENGTH for value in self.initial_data.getlist(key))
            )
            if too_long:
                raise serializers.ValidationError(
                    {
                        key: [f"A filter's name and value have at most {MAX_LENGTH} characters."]
                        for key in too_long
                    }
                )
        else:
            unknown = sorted(set(self.initial_data) - self.known())
            if unknown:
                raise serializers.ValidationError(
                    {
                        key: [f"Unknown parameter; use one of {', '.join(sorted(self.fields))}."]
                        for key in unknown
                    }
                )
        return attrs

    def filters(self) -> dict:
        """The filters for Glance: declared ones given, and (if allowed) the others."""
        filters = {
            key: ("true" if value else "false") if isinstance(value, bool) else value
            for key, value in self.validated_data.items()
            if key not in self.not_filters and value is not None and value != []
        }
        if self.other_filters:
            known = self.known()
            filters.update(
                {key: value for key, value in self.initial_data.items() if key not in known}
            )
        return filters


class ImageListQuerySerializer(QuerySerializer):
    """Sorting and filters of GET images/; any other parameter filters on a custom property."""

    other_filters = True
    not_filters = QuerySerializer.not_filters | {"q"}

    sort_key = serializers.ChoiceField(IMAGE_SORT_KEYS, required=False, default="created_at")
    sort_dir = serializers.ChoiceField(SORT_DIRS, required=False, default="desc")
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=255,
        trim_whitespace=False,
        help_text="Only images whose name contains this text, compared without case "
        "(Unicode case folding), taken literally (no wildcards); combines with every "
        "filter, sort and paging parameter. The app reads the names of at most "
        "SEARCH_MAX_IMAGES images of the list (the answer's search says how many, and "
        "whether that was all of them).",
    )
    name = serializers.CharField(
        required=False,
        max_length=MAX_LENGTH,
        help_text="Exact name, or in:a,b for any of several; where the server sets "
        "NAME_FILTER_MATCHES_PART, a name without in: finds names that contain it, as q.",
    )
    status = serializers.ChoiceField(IMAGE_STATUSES, required=False)
    visibility = serializers.ChoiceField(
        (*VISIBILITIES, "all"),
        required=False,
        help_text="Glance's default leaves out community images; all lists every one.",
    )
    is_public = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The dashboard's filter: true is visibility public, false private.",
    )
    owner = serializers.CharField(
        required=False, max_length=MAX_LENGTH, help_text="The owning project's id."
    )
    member_status = serializers.ChoiceField(
        MEMBER_STATUS_FILTERS, required=False, help_text="Shared images by the caller's answer."
    )
    tag = serializers.ListField(
        child=serializers.CharField(max_length=255),
        required=False,
        help_text="Images with this tag; repeat for images with every one of them.",
    )
    size_min = serializers.IntegerField(required=False, min_value=0, help_text="Bytes.")
    size_max = serializers.IntegerField(required=False, min_value=0, help_text="Bytes.")
    disk_format = serializers.CharField(required=False, max_length=MAX_LENGTH)
    container_format = serializers.CharField(required=False, max_length=MAX_LENGTH)
    protected = serializers.BooleanField(required=False, allow_null=True, default=None)
    os_hidden = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="true lists only hidden images (left out by default).",
    )
    created_at = TimeFilterField(
        required=False, max_length=64, help_text="[gt|gte|lt|lte|eq|neq:]ISO 8601 date-time."
    )
    updated_at = TimeFilterField(
        required=False, max_length=64, help_text="[gt|gte|lt|lte|eq|neq:]ISO 8601 date-time."
    )

    def filters(self) -> dict:
        filters = super().filters()
        is_public = filters.pop("is_public", None)
        if is_public is not None:
            filters["visibility"] = "public" if is_public == "true" else "private"
        if self._name_is_search():
            del filters["name"]
        return filters

    def search_text(self) -> str | None:
        """The text names must contain (q, or name where NAME_FILTER_MATCHES_PART says
        so), or None: no search."""
        if self._name_is_search():
            return self.validated_data["name"]
        return self.validated_data.get("q") or None

    def _name_is_search(self) -> bool:
        name = self.validated_data.get("name")
        return bool(
            app_settings.NAME_FILTER_MATCHES_PART
            and name
            and not name.startswith("in:")
            and not self.validated_data.get("q")
        )


class NamespaceListQuerySerializer(QuerySerializer):
    """Sorting and filters of GET metadefs/namespaces/."""

    not_filters = QuerySerializer.not_filters | {"resource_type", "properties_target"}

    resource_type = serializers.CharField(
        required=False,
        max_length=255,
        help_text="Only namespaces associated with this resource type (e.g. OS::Nova::Flavor), "
        "their property names with the prefix the association defines (e.g. hw:).",
    )
    properties_target = serializers.CharField(
        required=False,
        max_length=255,
        help_text="With resource_type: only namespaces whose association with it has this "
        "properties target (e.g. image, volume).",
    )
    resource_types = serializers.CharField(
        required=False,
        max_length=1024,
        help_text="Only namespaces associated with one of these (comma-separated) resource "
        "types; property names are not prefixed.",
    )
    visibility = serializers.ChoiceField(("public", "private"), required=False)
    sort_key = serializers.ChoiceField(NAMESPACE_SORT_KEYS, required=False, default="namespace")
    sort_dir = serializers.ChoiceField(SORT_DIRS, required=False, default="asc")


class NamespaceQuerySerializer(QuerySerializer):
    resource_type = serializers.CharField(
        required=False,
        max_length=255,
        help_text="Prefix property names as this resource type's association says.",
    )


class ResourceTypeQuerySerializer(QuerySerializer):
    """Query of GET metadefs/resourcetypes/: each parameter must equal a field's value."""

    name = serializers.CharField(
        required=False, max_length=MAX_LENGTH, help_text="e.g. OS::Nova::Flavor"
    )
    created_at = serializers.CharField(required=False, max_length=MAX_LENGTH)
    updated_at = serializers.CharField(required=False, max_length=MAX_LENGTH)

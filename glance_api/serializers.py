"""Shapes of what the API takes and gives."""

from collections.abc import Mapping

from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from .conf import settings


class VersionSerializer(serializers.Serializer):
    version = serializers.CharField(
        read_only=True, help_text='The image API major version in use, as the dashboard gives it: "2".'
    )
    current = serializers.CharField(
        read_only=True, allow_null=True, help_text="The newest version Glance reports as CURRENT."
    )
    supported = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Every version Glance reports as CURRENT or SUPPORTED, newest first.",
    )


# --- images -----------------------------------------------------------------

VISIBILITIES = ("public", "private", "shared", "community")
SOURCE_TYPES = ("url", "file-legacy", "file-direct")
SORT_DIRS = ("asc", "desc")
SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id", "created_at",
             "updated_at")
# The dashboard's pseudo disk formats: disk format -> (Glance disk format, container format).
PSEUDO_DISK_FORMATS = {
    "docker": ("raw", "docker"),
    "ova": ("vmdk", "ova"),
    "vhd": ("vhd", "ovf"),
    "ami": ("ami", "ami"),
    "aki": ("aki", "aki"),
    "ari": ("ari", "ari"),
}
# What the dashboard leaves out of an image's "properties".
BASE_ATTRIBUTES = frozenset({
    "architecture", "container_format", "disk_format", "created_at", "owner", "size", "id",
    "status", "updated_at", "checksum", "visibility", "name", "is_public", "protected",
    "min_disk", "min_ram",
})
EXTENDED_ATTRIBUTES = frozenset({
    "file", "locations", "schema", "tags", "virtual_size", "kernel_id", "ramdisk_id",
    "image_url",
})
# Attributes Glance sets itself: never taken from a client.
GLANCE_OWNED = frozenset({
    "id", "status", "owner", "size", "virtual_size", "checksum", "os_hash_algo",
    "os_hash_value", "locations", "location", "direct_url", "file", "schema", "self",
    "created_at", "updated_at", "deleted", "deleted_at", "stores",
})
GLANCE_OWNED_PREFIXES = ("os_glance_",)
# Keys a browser's HTML form adds that are not image fields.
FORM_KEYS = frozenset({"csrfmiddlewaretoken"})


def http_url(value: str) -> str:
    """Glance fetches image data over http(s) only (no file://, ftp://, ...)."""
    if value.split(":", 1)[0].lower() not in ("http", "https"):
        raise serializers.ValidationError("Only http and https URLs are allowed.")
    return value


def is_glance_owned(name: str) -> bool:
    return name in GLANCE_OWNED or name.startswith(GLANCE_OWNED_PREFIXES)


def as_property_value(value) -> str:
    """Glance keeps custom properties as strings; scalars are sent in their JSON form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def typed_value(name: str, value, schema_properties: dict):
    """A value for an attribute Glance's schema types (e.g. ``os_hidden``), else a string.

    :raises serializers.ValidationError: the value does not fit the type.
    """
    kind = schema_properties.get(name, {}).get("type")
    kinds = set(kind) if isinstance(kind, list) else {kind}
    if "boolean" in kinds:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise serializers.ValidationError('Must be true or false (or "true" or "false").')
    if "integer" in kinds:
        try:
            number = int(value)
        except (TypeError, ValueError) as exc:
            raise serializers.ValidationError("Must be an integer.") from exc
        if isinstance(value, bool) or str(number) != str(value).strip():
            raise serializers.ValidationError("Must be an integer.")
        return number
    if "array" in kinds or "object" in kinds:
        raise serializers.ValidationError("This attribute cannot be set here.")
    if isinstance(value, (dict, list)) or value is None:
        raise serializers.ValidationError(
            "A custom property must be a string, number or boolean."
        )
    return as_property_value(value)


class ImageSerializer(serializers.Serializer):
    """An image: every attribute Glance returns, plus ``is_public`` and ``properties``.

    ``properties`` leaves out the base attributes, and in lists also the extended ones
    (as the dashboard does); pass ``context={"detail": True}`` for the detail view.
    """

    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True, allow_null=True)
    status = serializers.CharField(read_only=True)
    visibility = serializers.ChoiceField(VISIBILITIES, read_only=True)
    is_public = serializers.BooleanField(read_only=True)
    protected = serializers.BooleanField(read_only=True)
    disk_format = serializers.CharField(read_only=True, allow_null=True)
    container_format = serializers.CharField(read_only=True, allow_null=True)
    size = serializers.IntegerField(read_only=True, allow_null=True)
    min_disk = serializers.IntegerField(read_only=True)
    min_ram = serializers.IntegerField(read_only=True)
    owner = serializers.CharField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    properties = serializers.DictField(
        read_only=True, help_text="Custom properties (and, in the detail view, extended attributes)."
    )

    def to_representation(self, image: dict) -> dict:
        left_out = BASE_ATTRIBUTES
        if not self.context.get("detail"):
            left_out = BASE_ATTRIBUTES | EXTENDED_ATTRIBUTES
        return {
            **image,
            "is_public": image.get("visibility") == "public",
            "properties": {k: v for k, v in image.items() if k not in left_out},
        }


def custom_properties(image: dict) -> dict:
    """An image's custom properties: neither base nor extended attributes."""
    return {
        k: v for k, v in image.items() if k not in BASE_ATTRIBUTES | EXTENDED_ATTRIBUTES
    }


class ImageFieldsSerializer(serializers.Serializer):
    """Fields shared by create and update; unknown keys become custom properties.

    Needs ``context["schema"]``: Glance's image schema (formats and attribute types).
    """

    description = serializers.CharField(required=False, allow_blank=True, max_length=255)
    disk_format = serializers.CharField(
        help_text="A disk format of Glance's image schema (raw, qcow2, iso, ...), or one of "
        "the dashboard's: docker, ova, vhd, ami, aki, ari."
    )
    container_format = serializers.CharField(
        required=False, help_text="Default bare; derived from pseudo disk formats."
    )
    kernel = serializers.CharField(required=False, allow_blank=True, help_text="Becomes kernel_id.")
    ramdisk = serializers.CharField(
        required=False, allow_blank=True, help_text="Becomes ramdisk_id."
    )
    architecture = serializers.CharField(required=False, allow_blank=True, max_length=255)
    min_disk = serializers.IntegerField(required=False, min_value=0, help_text="GiB, >= 0.")
    min_ram = serializers.IntegerField(required=False, min_value=0, help_text="MiB, >= 0.")
    visibility = serializers.ChoiceField(VISIBILITIES)
    protected = serializers.BooleanField()

    # Keys that are known but not fields (ignored, or checked against the image).
    ignored_keys: frozenset[str] = FORM_KEYS

    @property
    def schema_properties(self) -> dict:
        return self.context["schema"]["properties"]

    def validate_disk_format(self, value: str) -> str:
        formats = [f for f in self.schema_properties["disk_format"].get("enum", []) if f]
        if value not in formats and value not in PSEUDO_DISK_FORMATS:
            raise serializers.ValidationError(
                f'"{value}" is not a disk format; choose one of '
                f"{', '.join(sorted(set(formats) | set(PSEUDO_DISK_FORMATS)))}."
            )
        return value

    def validate_container_format(self, value: str) -> str:
        formats = [f for f in self.schema_properties["container_format"].get("enum", []) if f]
        if value not in formats:
            raise serializers.ValidationError(
                f'"{value}" is not a container format; choose one of {", ".join(formats)}.'
            )
        return value

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)  # DRF's "Invalid data" error
        try:
            validated, errors = super().to_internal_value(data), {}
        except serializers.ValidationError as exc:  # report field and property errors together
            validated, errors = {}, dict(exc.detail)
        passed_over = self.passed_over(data)
        extra = {
            key: value for key, value in data.items()
            if key not in self.fields and key not in passed_over
        }
        errors, properties = {**errors, **self.extra_errors(extra)}, {}
        for key, value in extra.items():
            if key in errors:
                continue
            try:
                properties[key] = typed_value(key, value, self.schema_properties)
            except serializers.ValidationError as exc:
                errors[key] = exc.detail
        if errors:
            raise serializers.ValidationError(errors)
        return {**validated, "properties": properties}

    def passed_over(self, data: Mapping) -> set[str]:
        """Keys of the body that are neither fields nor custom properties."""
        return set(self.ignored_keys)

    def extra_errors(self, extra: dict) -> dict:
        errors = {}
        for key in extra:
            if is_glance_owned(key):
                errors[key] = [f"{key} is set by Glance and cannot be given."]
            elif not key or len(key) > 255:
                errors[key] = ["A property name must have 1 to 255 characters."]
        return errors

    def glance_attributes(self) -> dict:
        """The validated fields as Glance's image attributes."""
        data = self.validated_data
        attributes = {}
        if "disk_format" in data:
            disk, container = PSEUDO_DISK_FORMATS.get(
                data["disk_format"], (data["disk_format"], None)
            )
            attributes["disk_format"] = disk
            attributes["container_format"] = container or data.get("container_format", "bare")
        for name in ("name", "visibility", "protected", "min_disk", "min_ram"):
            if name in data:
                attributes[name] = data[name]
        for field, attribute in (("description", "description"), ("kernel", "kernel_id"),
                                 ("ramdisk", "ramdisk_id"), ("architecture", "architecture")):
            if data.get(field):
                attributes[attribute] = data[field]
        return {**data["properties"], **attributes}


class ImageCreateSerializer(ImageFieldsSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=255)
    source_type = serializers.ChoiceField(
        SOURCE_TYPES,
        help_text="url: Glance takes the data from image_url; file-legacy: the file comes in "
        "this multipart request's data field; file-direct: the image is created and the "
        "answer gives an upload_url of this API to PUT the bytes to.",
    )
    image_url = serializers.URLField(
        required=False, help_text="http or https URL of the image data (source_type url)."
    )
    import_data = serializers.BooleanField(
        required=False, default=False,
        help_text="With image_url: true imports the data into Glance (web-download); false "
        "(default) uses the URL as the image's location.",
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=255), required=False, help_text="Image tags."
    )
    data = serializers.FileField(
        required=False, write_only=True, help_text="The image file (source_type file-legacy)."
    )

    def validate_image_url(self, value: str) -> str:
        return http_url(value)

    def validate(self, attrs):
        source = attrs["source_type"]
        if source == "url" and not attrs.get("image_url"):
            raise serializers.ValidationError({"image_url": ["Required for source_type url."]})
        if source != "url" and attrs.get("image_url"):
            raise serializers.ValidationError(
                {"image_url": [f"Only for source_type url, not {source}."]}
            )
        if source == "file-legacy" and attrs.get("data") is None:
            raise serializers.ValidationError(
                {"data": ["Required for source_type file-legacy: send the file as multipart."]}
            )
        if source != "file-legacy" and attrs.get("data") is not None:
            raise serializers.ValidationError({"data": ["Only for source_type file-legacy."]})
        return attrs

    def data_source(self) -> dict:
        """Where the image's data comes from, as ``services.create_image`` takes it."""
        data = self.validated_data
        url = data.get("image_url") if data["source_type"] == "url" else None
        upload = data.get("data")
        return {
            "location": url if not data["import_data"] else None,
            "web_download": url if data["import_data"] else None,
            "data": upload,
            "size": upload.size if upload is not None else None,
        }

    def glance_attributes(self) -> dict:
        attributes = super().glance_attributes()
        if self.validated_data.get("tags"):
            attributes["tags"] = self.validated_data["tags"]
        return attributes


class ImageUpdateSerializer(ImageFieldsSerializer):
    """PATCH images/{id}/: the dashboard sends back the whole image with edits.

    Needs ``context["image"]``, the image as Glance holds it: an attribute Glance owns
    that is sent with the value Glance holds is ignored; with another value it is a 400.
    ``is_public`` and ``properties`` are ignored (properties change through
    ``images/{id}/properties/``).
    """

    name = serializers.CharField(max_length=255, allow_blank=True)
    ignored_keys = FORM_KEYS | {"is_public", "properties"}

    def passed_over(self, data: Mapping) -> set[str]:
        image = self.context["image"]
        echoed = {
            key for key, value in data.items()
            if (is_glance_owned(key) or key == "tags") and key in image and image[key] == value
        }
        return super().passed_over(data) | echoed

    def extra_errors(self, extra: dict) -> dict:
        image = self.context["image"]
        errors = {
            key: [f"{key} is set by Glance; send it back unchanged ({image[key]!r}) or leave "
                  "it out." if key in image else f"{key} is set by Glance and cannot be given."]
            for key in extra if is_glance_owned(key) or key == "tags"
        }
        return errors | super().extra_errors({k: v for k, v in extra.items() if k not in errors})


class ImagePropertiesSerializer(serializers.Serializer):
    """PATCH images/{id}/properties/: ``{"updated": {k: v}, "removed": [k]}``."""

    updated = serializers.DictField(required=False, default=dict)
    removed = serializers.ListField(child=serializers.CharField(), required=False, default=list)

    def validate_updated(self, value: dict) -> dict:
        schema_properties = self.context["schema"]["properties"]
        errors, updated = {}, {}
        for key, item in value.items():
            if is_glance_owned(key) or key in BASE_ATTRIBUTES:
                errors[key] = [f"{key} is not a custom property."]
                continue
            try:
                updated[key] = typed_value(key, item, schema_properties)
            except serializers.ValidationError as exc:
                errors[key] = exc.detail
        if errors:
            raise serializers.ValidationError(errors)
        return updated

    def validate_removed(self, value: list) -> list:
        wrong = [key for key in value if is_glance_owned(key) or key in BASE_ATTRIBUTES]
        if wrong:
            raise serializers.ValidationError(
                f"Not custom properties, so they cannot be removed: {', '.join(wrong)}."
            )
        return value


TIME_OPERATORS = ("gt", "gte", "lt", "lte", "eq", "neq")


def _check_count(value: str) -> None:
    if not value.isdigit():
        raise serializers.ValidationError("Must be a whole number of bytes.")


def _check_boolean(value: str) -> None:
    if value.lower() not in ("true", "false"):
        raise serializers.ValidationError('Must be "true" or "false".')


def _check_choice(*choices: str):
    def check(value: str) -> None:
        if value not in choices:
            raise serializers.ValidationError(f'"{value}" is not one of {", ".join(choices)}.')
    return check


def _check_time(value: str) -> None:
    """Glance's time filter: ``[operator:]ISO 8601 date-time``, e.g. ``gte:2026-01-01T00:00:00Z``."""
    head, colon, rest = value.partition(":")
    if colon and head in TIME_OPERATORS:
        value = rest
    elif colon and head.isalpha():  # a bare date-time starts with digits
        raise serializers.ValidationError(
            f'Unknown operator "{head}"; use one of {", ".join(TIME_OPERATORS)}.'
        )
    if parse_datetime(value) is None:
        raise serializers.ValidationError(
            f'"{value}" is not an ISO 8601 date-time (e.g. 2026-01-31T12:00:00Z).'
        )


# Filters whose values Glance checks: checked here first, so that the error names them.
FILTER_CHECKS = {
    "size_min": _check_count,
    "size_max": _check_count,
    "protected": _check_boolean,
    "os_hidden": _check_boolean,
    "visibility": _check_choice(*VISIBILITIES, "all"),
    "member_status": _check_choice("accepted", "pending", "rejected", "all"),
    "created_at": _check_time,
    "updated_at": _check_time,
}


class ListQuerySerializer(serializers.Serializer):
    """A list's query as the dashboard pages it; every other parameter is a Glance filter."""

    paginate = serializers.BooleanField(
        required=False, default=False, help_text="Pages of the configured page size."
    )
    marker = serializers.CharField(
        required=False,
        help_text="Where the page starts: the last item of the page shown (the first one "
        "with reversed_order).",
    )
    sort_dir = serializers.ChoiceField(SORT_DIRS, required=False, default="desc")
    limit = serializers.IntegerField(
        required=False, min_value=1,
        help_text="At most this many (capped by the result limit); with paginate, the page size.",
    )
    reversed_order = serializers.BooleanField(
        required=False, default=False,
        help_text="Walk back from marker (the first item of the page shown), as the "
        "dashboard's previous-page link does.",
    )
    # Filters whose values are checked here, so that an error names them.
    filter_checks: dict = {}

    def validate(self, attrs):
        errors = {}
        for key, check in self.filter_checks.items():
            for value in self.query_values(key):
                try:
                    check(value)
                except serializers.ValidationError as exc:
                    errors[key] = exc.detail
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def list_options(self) -> dict:
        """Keyword arguments of ``services.list_images``; ``limit`` capped by the settings."""
        options = self.validated_data
        limit = min(options.get("limit", settings.RESULT_LIMIT), settings.RESULT_LIMIT)
        page_size = min(options.get("limit", settings.PAGE_SIZE), limit)
        return {
            "filters": self.filters(),
            "sort_key": options["sort_key"],
            "sort_dir": options["sort_dir"],
            "marker": options.get("marker"),
            "limit": limit,
            "page_size": page_size if options["paginate"] else None,
            "reversed_order": options["reversed_order"],
        }

    def filters(self) -> dict:
        """The query parameters that are not the list's own, as Glance filters."""
        return {key: value for key, value in self.initial_data.items() if key not in self.fields}

    def query_values(self, key: str) -> list[str]:
        """Every value of a query parameter (``tag`` may be given more than once)."""
        if hasattr(self.initial_data, "getlist"):
            return self.initial_data.getlist(key)
        return [self.initial_data[key]] if key in self.initial_data else []


class ImageListQuerySerializer(ListQuerySerializer):
    """Query of GET images/; every other parameter is a filter for Glance."""

    sort_key = serializers.ChoiceField(SORT_KEYS, required=False, default="created_at")
    filter_checks = FILTER_CHECKS

    def filters(self) -> dict:
        filters = super().filters()
        if "is_public" in filters:  # the dashboard's name for public/private
            is_public = filters.pop("is_public").lower()
            if is_public in ("true", "false"):
                filters["visibility"] = "public" if is_public == "true" else "private"
        if "tag" in filters:
            filters["tag"] = self.query_values("tag")
        return filters


# --- metadata definitions ----------------------------------------------------

NAMESPACE_SORT_KEYS = ("namespace", "created_at", "updated_at")


class NamespaceListQuerySerializer(ListQuerySerializer):
    """Query of GET metadefs/namespaces/; every other parameter is a filter for Glance
    (``resource_types``: comma-separated names, ``visibility``: public or private)."""

    resource_type = serializers.CharField(
        required=False,
        help_text="Only namespaces associated with this resource type (e.g. OS::Nova::Flavor), "
        "their property names with the prefix the association defines (e.g. hw:).",
    )
    sort_dir = serializers.ChoiceField(SORT_DIRS, required=False, default="asc")
    sort_key = serializers.ChoiceField(NAMESPACE_SORT_KEYS, required=False, default="namespace")
    filter_checks = {"visibility": _check_choice("public", "private")}

    def list_options(self) -> dict:
        return {**super().list_options(),
                "resource_type": self.validated_data.get("resource_type")}


class NamespaceQuerySerializer(serializers.Serializer):
    resource_type = serializers.CharField(
        required=False, help_text="Prefix property names as this resource type's association says."
    )


class ResourceTypeSerializer(serializers.Serializer):
    name = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)


class NamespaceSerializer(serializers.Serializer):
    """A namespace as Glance gives it, with its properties, objects and tags."""

    namespace = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True, required=False)
    description = serializers.CharField(read_only=True, required=False)
    visibility = serializers.CharField(read_only=True, help_text="public or private")
    protected = serializers.BooleanField(read_only=True)
    owner = serializers.CharField(read_only=True)
    resource_type_associations = serializers.ListField(
        child=serializers.DictField(), read_only=True, required=False,
        help_text="Resource types with the prefix and properties target of each association.",
    )
    properties = serializers.DictField(
        read_only=True, required=False,
        help_text="Property definitions by name (prefixed for the resource type asked for).",
    )
    objects = serializers.ListField(child=serializers.DictField(), read_only=True, required=False)
    tags = serializers.ListField(child=serializers.DictField(), read_only=True, required=False)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, namespace: dict) -> dict:
        return dict(namespace)  # everything Glance gives, as it gives it


RESOURCE_TYPE_FIELDS = ("name", "created_at", "updated_at")


class ResourceTypeQuerySerializer(serializers.Serializer):
    """Query of GET metadefs/resourcetypes/: each parameter must equal a field's value."""

    name = serializers.CharField(required=False, help_text="e.g. OS::Nova::Flavor")
    created_at = serializers.CharField(required=False)
    updated_at = serializers.CharField(required=False)

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({
                key: [f"Not a field of a resource type; filter on {', '.join(self.fields)}."]
                for key in unknown
            })
        return attrs

    def matches(self, resource_type: dict) -> bool:
        return all(resource_type.get(k) == v for k, v in self.validated_data.items())


# --- image data and lifecycle ----------------------------------------------------

IMPORT_METHODS = ("glance-direct", "web-download", "copy-image")


class ImageImportSerializer(serializers.Serializer):
    """POST images/{id}/import/: Glance's interoperable image import."""

    method = serializers.ChoiceField(
        IMPORT_METHODS,
        help_text="glance-direct: data staged with PUT stage/; web-download: Glance fetches "
        "uri; copy-image: copy an active image's data to more stores.",
    )
    uri = serializers.URLField(required=False, help_text="http(s) URL (web-download only).")
    stores = serializers.ListField(
        child=serializers.CharField(), required=False,
        help_text="Store ids to import into (see info/stores/).",
    )
    all_stores = serializers.BooleanField(required=False, default=False,
                                          help_text="Import into every store.")
    all_stores_must_succeed = serializers.BooleanField(
        required=False, default=True,
        help_text="false: the import succeeds if at least one store took the data.",
    )

    def validate_uri(self, value: str) -> str:
        return http_url(value)

    def validate(self, attrs):
        method = attrs["method"]
        if method == "web-download" and not attrs.get("uri"):
            raise serializers.ValidationError({"uri": ["Required for method web-download."]})
        if method != "web-download" and attrs.get("uri"):
            raise serializers.ValidationError({"uri": [f"Only for web-download, not {method}."]})
        if attrs.get("stores") and attrs["all_stores"]:
            raise serializers.ValidationError(
                {"stores": ["Give stores or all_stores, not both."]}
            )
        if method == "copy-image" and not (attrs.get("stores") or attrs["all_stores"]):
            raise serializers.ValidationError(
                {"stores": ["copy-image needs the stores to copy to (or all_stores)."]}
            )
        return attrs


MEMBER_STATUSES = ("accepted", "rejected", "pending")


class MemberSerializer(serializers.Serializer):
    """A project an image is shared with, and whether it accepted."""

    image_id = serializers.UUIDField(read_only=True)
    member_id = serializers.CharField(
        help_text="The project to share the image with (its id)."
    )
    status = serializers.ChoiceField(MEMBER_STATUSES, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    schema = serializers.CharField(read_only=True, required=False)


class MemberStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        MEMBER_STATUSES, help_text="The member's answer (only the member project may set it)."
    )

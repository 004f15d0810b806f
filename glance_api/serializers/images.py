"""Images: the representation, and the body that updates one (the create's are in
``image_creates``)."""

import urllib.parse
from collections.abc import Mapping

from rest_framework import serializers

from .properties import BASE_ATTRIBUTES, EXTENDED_ATTRIBUTES, is_glance_owned, typed_value

VISIBILITIES = ("public", "private", "shared", "community")
SOURCE_TYPES = ("url", "file-legacy", "file-direct")
# The dashboard's pseudo disk formats: disk format -> (Glance disk format, container format).
PSEUDO_DISK_FORMATS = {
    "docker": ("raw", "docker"),
    "ova": ("vmdk", "ova"),
    "vhd": ("vhd", "ovf"),
    "ami": ("ami", "ami"),
    "aki": ("aki", "aki"),
    "ari": ("ari", "ari"),
}
# Glance's defaults ([image_format] disk_formats, container_formats), for the OpenAPI schema;
# at run time the choices are the ones of the Glance answering (its image schema).
DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
# Keys a browser's HTML form adds that are not image fields.
FORM_KEYS = frozenset({"csrfmiddlewaretoken"})
# Keys the dashboard's client sends for its own bookkeeping, which the dashboard's server
# drops (its KNOWN_PROPERTIES): never custom properties. ``$$originalJSON`` holds the typed
# values of a multipart body (see ImageCreateSerializer).
DASHBOARD_KEYS = frozenset(
    {
        "is_copying",
        "source",
        "image_id",
        "public",
        "image_file",
        "is_public",
        "properties",
        "$$originalJSON",
    }
)
ORIGINAL_JSON = "$$originalJSON"


def http_url(value: str) -> str:
    """Glance fetches image data over http(s) only (no file://, ftp://, ...), and a URL
    with credentials in it (``user:password@host``) would keep them in Glance."""
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme.lower() not in ("http", "https"):
        raise serializers.ValidationError("Only http and https URLs are allowed.")
    if "@" in parsed.netloc:
        raise serializers.ValidationError("A URL with a user or password is not allowed.")
    return value


def glance_formats(disk_format: str, container_format: str | None) -> tuple[str, str]:
    """Glance's disk and container formats for a form's (pseudo) disk format."""
    disk, container = PSEUDO_DISK_FORMATS.get(disk_format, (disk_format, None))
    return disk, container or container_format or "bare"


class ImageSerializer(serializers.Serializer):
    """An image: every attribute Glance returns, plus ``is_public`` and ``properties``.

    ``properties`` leaves out the base attributes, and in lists also the extended ones
    (as the dashboard does). The declared fields document the answer (they are what
    every image has); the representation is Glance's image as it is.
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
        read_only=True,
        help_text="Custom properties (and, in the detail view, extended attributes).",
    )
    detail = False  # see ImageDetailSerializer

    def to_representation(self, image: dict) -> dict:
        left_out = BASE_ATTRIBUTES if self.detail else BASE_ATTRIBUTES | EXTENDED_ATTRIBUTES
        return {
            **image,
            "is_public": image.get("visibility") == "public",
            "properties": {k: v for k, v in image.items() if k not in left_out},
        }


class ImageDetailSerializer(ImageSerializer):
    """One image: ``properties`` also holds the extended attributes (file, locations, ...)."""

    detail = True


class CreatedImageSerializer(ImageDetailSerializer):
    """A created image; with ``upload_url`` for ``source_type: file-direct``."""

    class Meta:
        optional_fields = ("upload_url",)

    upload_url = serializers.URLField(
        read_only=True,
        required=False,
        help_text="file-direct only: PUT the image's bytes to this URL of this API.",
    )


class ImageFieldsSerializer(serializers.Serializer):
    """Fields shared by create and update; unknown keys become custom properties.

    Needs ``context["schema"]``: Glance's image schema (formats and attribute types).
    """

    field_order: tuple[str, ...] = ()  # the dashboard's order of its form's fields

    description = serializers.CharField(required=False, allow_blank=True, max_length=255)
    disk_format = serializers.ChoiceField(
        (*DISK_FORMATS, *(f for f in PSEUDO_DISK_FORMATS if f not in DISK_FORMATS)),
        help_text="A disk format of Glance's image schema, or one of the dashboard's pseudo "
        "formats: docker (raw + container docker), ova (vmdk + container ova), vhd (container "
        "ovf), ami/aki/ari (the same container format).",
    )
    container_format = serializers.ChoiceField(
        CONTAINER_FORMATS,
        required=False,
        help_text="Default bare; derived from pseudo disk formats.",
    )
    kernel = serializers.CharField(required=False, allow_blank=True, help_text="Becomes kernel_id.")
    ramdisk = serializers.CharField(
        required=False, allow_blank=True, help_text="Becomes ramdisk_id."
    )
    architecture = serializers.CharField(required=False, allow_blank=True, max_length=255)
    min_disk = serializers.IntegerField(required=False, min_value=0, help_text="GiB, >= 0.")
    min_ram = serializers.IntegerField(required=False, min_value=0, help_text="MiB, >= 0.")
    visibility = serializers.ChoiceField(VISIBILITIES, initial="private")
    protected = serializers.BooleanField()

    # Keys that are known but not fields (ignored, or checked against the image).
    ignored_keys: frozenset[str] = FORM_KEYS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        schema = self.context.get("schema")
        if schema:  # the formats of the Glance answering, not the defaults
            disk = [f for f in schema["properties"]["disk_format"].get("enum", []) if f]
            self.fields["disk_format"].choices = [
                *disk,
                *(f for f in PSEUDO_DISK_FORMATS if f not in disk),
            ]
            self.fields["container_format"].choices = [
                f for f in schema["properties"]["container_format"].get("enum", []) if f
            ]

    def get_fields(self):
        fields = super().get_fields()
        order = [name for name in self.field_order if name in fields]
        return {name: fields[name] for name in [*order, *(n for n in fields if n not in order)]}

    @property
    def schema_properties(self) -> dict:
        return self.context["schema"]["properties"]

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)  # DRF's "Invalid data" error
        try:
            validated, errors = super().to_internal_value(data), {}
        except serializers.ValidationError as exc:  # report field and property errors together
            validated, errors = {}, dict(exc.detail)
        passed_over = self.passed_over(data)
        extra = {
            key: value
            for key, value in data.items()
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
            attributes["disk_format"], attributes["container_format"] = glance_formats(
                data["disk_format"], data.get("container_format")
            )
        for name in ("name", "visibility", "protected", "min_disk", "min_ram"):
            if name in data:
                attributes[name] = data[name]
        for field, attribute in (
            ("description", "description"),
            ("kernel", "kernel_id"),
            ("ramdisk", "ramdisk_id"),
            ("architecture", "architecture"),
        ):
            if data.get(field):
                attributes[attribute] = data[field]
        return {**data["properties"], **attributes}


class ImageUpdateSerializer(ImageFieldsSerializer):
    """PATCH images/{id}/: the dashboard sends back the whole image with edits.

    Needs ``context["image"]``, the image as Glance holds it: an attribute Glance owns
    that is sent with the value Glance holds is ignored; with another value it is a 400.
    ``is_public`` and ``properties`` are ignored (properties change through
    ``images/{id}/properties/``).
    """

    field_order = (
        "name",
        "description",
        "disk_format",
        "container_format",
        "kernel",
        "ramdisk",
        "architecture",
        "min_disk",
        "min_ram",
        "visibility",
        "protected",
    )

    name = serializers.CharField(max_length=255, allow_blank=True)
    # created_at and updated_at whatever their value: a form's copy is stale after any
    # other change (the dashboard's Edit Image PATCHes properties first).
    ignored_keys = FORM_KEYS | {"is_public", "properties", "created_at", "updated_at"}

    def passed_over(self, data: Mapping) -> set[str]:
        image = self.context["image"]
        echoed = {
            key
            for key, value in data.items()
            if (is_glance_owned(key) or key == "tags") and key in image and image[key] == value
        }
        return super().passed_over(data) | echoed

    def extra_errors(self, extra: dict) -> dict:
        image = self.context["image"]
        errors = {
            key: [
                f"{key} is set by Glance; send it back unchanged ({image[key]!r}) or leave it out."
                if key in image
                else f"{key} is set by Glance and cannot be given."
            ]
            for key in extra
            if is_glance_owned(key) or key == "tags"
        }
        return errors | super().extra_errors({k: v for k, v in extra.items() if k not in errors})

"""Images: the representation, and the bodies that create and update them."""

import json
import urllib.parse
from collections.abc import Callable, Mapping

from rest_framework import serializers

from ..conf import settings
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
DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
                "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
# Keys a browser's HTML form adds that are not image fields.
FORM_KEYS = frozenset({"csrfmiddlewaretoken"})
# Keys the dashboard's client sends for its own bookkeeping, which the dashboard's server
# drops (its KNOWN_PROPERTIES): never custom properties. ``$$originalJSON`` holds the typed
# values of a multipart body (see ImageCreateSerializer).
DASHBOARD_KEYS = frozenset({"is_copying", "source", "image_id", "public", "image_file",
                            "is_public", "properties", "$$originalJSON"})
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
        read_only=True, required=False,
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
        CONTAINER_FORMATS, required=False,
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
                *disk, *(f for f in PSEUDO_DISK_FORMATS if f not in disk)]
            self.fields["container_format"].choices = [
                f for f in schema["properties"]["container_format"].get("enum", []) if f]

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
            attributes["disk_format"], attributes["container_format"] = glance_formats(
                data["disk_format"], data.get("container_format"))
        for name in ("name", "visibility", "protected", "min_disk", "min_ram"):
            if name in data:
                attributes[name] = data[name]
        for field, attribute in (("description", "description"), ("kernel", "kernel_id"),
                                 ("ramdisk", "ramdisk_id"), ("architecture", "architecture")):
            if data.get(field):
                attributes[attribute] = data[field]
        return {**data["properties"], **attributes}


class ImageCreateSerializer(ImageFieldsSerializer):
    """Create an image: from a URL, with its file (multipart), or for an upload next."""

    ignored_keys = FORM_KEYS | DASHBOARD_KEYS
    # The file last: a multipart body (the browsable API's form) then gives the formats
    # first (see upload_formats).
    field_order = ("name", "description", "source_type", "image_url", "import_data",
                   "disk_format", "container_format", "kernel", "ramdisk", "architecture",
                   "min_disk", "min_ram", "visibility", "protected", "tags", "data")

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

    def to_internal_value(self, data):
        if isinstance(data, Mapping) and ORIGINAL_JSON in data:
            data = self.typed_form_data(data)
        if isinstance(data, Mapping) and data.get("source_type") == "file-direct" and isinstance(
                data.get("data"), str):
            # the dashboard sends the file's name, then uploads to upload_url
            data = {key: value for key, value in data.items() if key != "data"}
        return super().to_internal_value(data)

    def typed_form_data(self, data: Mapping) -> dict:
        """A multipart body of the dashboard: its fields as text, and their typed values as
        JSON in ``$$originalJSON``; the typed values win, the file is the form's."""
        try:
            typed = json.loads(data[ORIGINAL_JSON])
        except (TypeError, ValueError) as exc:
            raise serializers.ValidationError({ORIGINAL_JSON: ["Not valid JSON."]}) from exc
        except RecursionError as exc:
            raise serializers.ValidationError(
                {ORIGINAL_JSON: ["JSON nested too deeply."]}) from exc
        if not isinstance(typed, dict):
            raise serializers.ValidationError({ORIGINAL_JSON: ["Must be a JSON object."]})
        typed = {key: value for key, value in typed.items() if key != "data"}
        file = data.get("data")
        return {**typed, **({"data": file} if file is not None else {})}

    def validate(self, attrs):
        source = attrs["source_type"]
        if source == "url" and not attrs.get("image_url"):
            raise serializers.ValidationError({"image_url": ["Required for source_type url."]})
        if source != "url" and attrs.get("image_url"):
            raise serializers.ValidationError(
                {"image_url": [f"Only for source_type url, not {source}."]}
            )
        if source == "url" and not attrs["import_data"] and not settings.ALLOW_IMAGE_LOCATION:
            raise serializers.ValidationError({"import_data": [
                "Using image_url as the image's location is not allowed on this server "
                "(ALLOW_IMAGE_LOCATION); set import_data to true to import the data."]})
        if source == "file-legacy" and attrs.get("data") is None:
            raise serializers.ValidationError(
                {"data": ["Required for source_type file-legacy: send the file as multipart."]}
            )
        if source != "file-legacy" and attrs.get("data") is not None:
            raise serializers.ValidationError({"data": ["Only for source_type file-legacy."]})
        return attrs

    def upload_formats(self, fields: Mapping, detected: Callable[[], str]) -> tuple[str, str]:
        """The formats of a multipart create's image as its file begins (``fields``: the
        form fields before it): the body's own, or else the ones ``detected`` in the data.
        Glance takes no other once the data is in (see :meth:`check_upload_formats`)."""
        if fields.get("source_type", "file-legacy") != "file-legacy":
            raise serializers.ValidationError({"data": ["Only for source_type file-legacy."]})
        values = {}
        for name in ("disk_format", "container_format"):
            if name in fields:
                try:
                    values[name] = self.fields[name].run_validation(fields[name])
                except serializers.ValidationError as exc:
                    raise serializers.ValidationError({name: exc.detail}) from exc
        if "disk_format" not in values:
            disk = detected()
            values["disk_format"] = disk if disk in self.fields["disk_format"].choices else "raw"
        return glance_formats(values["disk_format"], values.get("container_format"))

    def check_upload_formats(self, formats: tuple[str, str]) -> None:
        attributes = self.glance_attributes()
        declared = (attributes["disk_format"], attributes["container_format"])
        if declared != formats:
            raise serializers.ValidationError({"disk_format": [
                "The file came before disk_format in this multipart body, so the image took "
                f"the format of its data ({formats[0]}, container {formats[1]}) as the data "
                f"went to Glance; this body says {declared[0]}, container {declared[1]}, "
                "which Glance cannot change once the image has data. Send disk_format before "
                "the file, or use source_type file-direct."]})

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


class ImageUploadSerializer(ImageCreateSerializer):
    """Create an image with its file: a multipart/form-data body whose ``data`` is the file
    (source_type file-legacy). Other fields are form fields; custom properties too.

    Documents the multipart body in the OpenAPI schema; the view validates it with
    :class:`ImageCreateSerializer`.
    """

    data = serializers.FileField(write_only=True, help_text="The image file.")


class ImageUpdateSerializer(ImageFieldsSerializer):
    """PATCH images/{id}/: the dashboard sends back the whole image with edits.

    Needs ``context["image"]``, the image as Glance holds it: an attribute Glance owns
    that is sent with the value Glance holds is ignored; with another value it is a 400.
    ``is_public`` and ``properties`` are ignored (properties change through
    ``images/{id}/properties/``).
    """

    field_order = ("name", "description", "disk_format", "container_format", "kernel",
                   "ramdisk", "architecture", "min_disk", "min_ram", "visibility", "protected")

    name = serializers.CharField(max_length=255, allow_blank=True)
    # created_at and updated_at whatever their value: a form's copy is stale after any
    # other change (the dashboard's Edit Image PATCHes properties first).
    ignored_keys = FORM_KEYS | {"is_public", "properties", "created_at", "updated_at"}

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

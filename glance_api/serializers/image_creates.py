"""Images: the bodies that create one (from a URL, with its file, or for an upload next)."""

import json
from collections.abc import Callable, Mapping

from rest_framework import serializers

from ..conf import settings
from .images import (
    DASHBOARD_KEYS,
    FORM_KEYS,
    ORIGINAL_JSON,
    SOURCE_TYPES,
    ImageFieldsSerializer,
    glance_formats,
    http_url,
)


class ImageCreateSerializer(ImageFieldsSerializer):
    """Create an image: from a URL, with its file (multipart), or for an upload next."""

    ignored_keys = FORM_KEYS | DASHBOARD_KEYS
    # The file last: a multipart body (the browsable API's form) then gives the formats
    # first (see upload_formats).
    field_order = (
        "name",
        "description",
        "source_type",
        "image_url",
        "import_data",
        "disk_format",
        "container_format",
        "kernel",
        "ramdisk",
        "architecture",
        "min_disk",
        "min_ram",
        "visibility",
        "protected",
        "tags",
        "data",
    )

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
        required=False,
        default=False,
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
        if (
            isinstance(data, Mapping)
            and data.get("source_type") == "file-direct"
            and isinstance(data.get("data"), str)
        ):
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
            raise serializers.ValidationError({ORIGINAL_JSON: ["JSON nested too deeply."]}) from exc
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
            raise serializers.ValidationError(
                {
                    "import_data": [
                        "Using image_url as the image's location is not allowed on this server "
                        "(ALLOW_IMAGE_LOCATION); set import_data to true to import the data."
                    ]
                }
            )
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
            raise serializers.ValidationError(
                {
                    "disk_format": [
                        "The file came before disk_format in this multipart body, so the image "
                        f"took the format of its data ({formats[0]}, container {formats[1]}) as "
                        f"the data went to Glance; this body says {declared[0]}, container "
                        f"{declared[1]}, which Glance cannot change once the image has data. "
                        "Send disk_format before the file, or use source_type file-direct."
                    ]
                }
            )

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

"""Custom properties: which names are an image's own, how values are typed, the PATCH body."""

from rest_framework import serializers

# What the dashboard leaves out of an image's "properties".
BASE_ATTRIBUTES = frozenset(
    {
        "architecture",
        "container_format",
        "disk_format",
        "created_at",
        "owner",
        "size",
        "id",
        "status",
        "updated_at",
        "checksum",
        "visibility",
        "name",
        "is_public",
        "protected",
        "min_disk",
        "min_ram",
    }
)
EXTENDED_ATTRIBUTES = frozenset(
    {
        "file",
        "locations",
        "schema",
        "tags",
        "virtual_size",
        "kernel_id",
        "ramdisk_id",
        "image_url",
    }
)
# Attributes Glance sets itself: never taken from a client.
GLANCE_OWNED = frozenset(
    {
        "id",
        "status",
        "owner",
        "size",
        "virtual_size",
        "checksum",
        "os_hash_algo",
        "os_hash_value",
        "locations",
        "location",
        "direct_url",
        "file",
        "schema",
        "self",
        "created_at",
        "updated_at",
        "deleted",
        "deleted_at",
        "stores",
    }
)
GLANCE_OWNED_PREFIXES = ("os_glance_",)


def is_glance_owned(name: str) -> bool:
    return name in GLANCE_OWNED or name.startswith(GLANCE_OWNED_PREFIXES)


def custom_properties(image: dict) -> dict:
    """An image's custom properties: neither base nor extended attributes."""
    return {k: v for k, v in image.items() if k not in BASE_ATTRIBUTES | EXTENDED_ATTRIBUTES}


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
        raise serializers.ValidationError("A custom property must be a string, number or boolean.")
    return as_property_value(value)


class ImagePropertiesSerializer(serializers.Serializer):
    """PATCH images/{id}/properties/: ``{"updated": {k: v}, "removed": [k]}``.

    Needs ``context["schema"]``, Glance's image schema (to type values such as os_hidden),
    and ``context["image"]``, the image as Glance holds it: ``GET properties/`` gives keys
    Glance owns too (``stores``, ...), and the dashboard sends them all back in
    ``updated``; such an echo of the value Glance holds is ignored, a changed one is a 400.
    """

    updated = serializers.DictField(
        required=False, default=dict, help_text="Properties to set, by name."
    )
    removed = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        default=list,
        help_text="Names of properties to remove.",
    )

    def validate_updated(self, value: dict) -> dict:
        schema_properties = self.context["schema"]["properties"]
        errors, updated = {}, {}
        image = self.context["image"]
        for key, item in value.items():
            if is_glance_owned(key) or key in BASE_ATTRIBUTES:
                if key in image and image[key] == item:
                    continue  # an echo of what Glance holds
                errors[key] = [
                    f"{key} is set by Glance, not a custom property; send it back "
                    "unchanged or leave it out."
                ]
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

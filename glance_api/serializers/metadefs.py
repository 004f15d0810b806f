"""Metadata definitions: namespaces and resource types, as Glance gives them."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers


class ResourceTypeSerializer(serializers.Serializer):
    class Meta:
        optional_fields = ("updated_at",)  # Glance leaves out what it does not have

    name = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)


class NamespaceSerializer(serializers.Serializer):
    """A namespace as Glance gives it, with its properties, objects and tags."""

    class Meta:  # Glance leaves out what a namespace does not have
        optional_fields = (
            "display_name",
            "description",
            "resource_type_associations",
            "properties",
            "objects",
            "tags",
            "updated_at",
        )

    namespace = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True, required=False)
    description = serializers.CharField(read_only=True, required=False)
    visibility = serializers.CharField(read_only=True, help_text="public or private")
    protected = serializers.BooleanField(read_only=True)
    owner = serializers.CharField(read_only=True)
    resource_type_associations = serializers.ListField(
        child=serializers.DictField(),
        read_only=True,
        required=False,
        help_text="Resource types with the prefix and properties target of each association.",
    )
    properties = serializers.DictField(
        read_only=True,
        required=False,
        help_text="Property definitions by name (prefixed for the resource type asked for).",
    )
    objects = serializers.ListField(child=serializers.DictField(), read_only=True, required=False)
    tags = serializers.ListField(child=serializers.DictField(), read_only=True, required=False)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, namespace: dict) -> dict:
        return dict(namespace)  # everything Glance gives, as it gives it


@extend_schema_serializer(many=False)
class ResourceTypeListSerializer(serializers.Serializer):
    items = ResourceTypeSerializer(many=True, read_only=True)

"""What this Glance is: its API versions."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers


@extend_schema_serializer(many=False)  # the answer of a list route, but one object
class VersionSerializer(serializers.Serializer):
    version = serializers.CharField(
        read_only=True,
        help_text='The image API major version in use, as the dashboard gives it: "2".',
    )
    current = serializers.CharField(
        read_only=True, allow_null=True, help_text="The newest version Glance reports as CURRENT."
    )
    supported = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Every version Glance reports as CURRENT or SUPPORTED, newest first.",
    )

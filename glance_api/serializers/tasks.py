"""An image's tasks, as Glance keeps them (without their input, which may hold a URL's
credentials)."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers


class ImageTaskSerializer(serializers.Serializer):
    class Meta:
        optional_fields = ("message", "result", "updated_at", "expires_at")

    id = serializers.CharField(read_only=True)
    type = serializers.CharField(read_only=True, help_text="e.g. api_image_import")
    status = serializers.CharField(
        read_only=True, help_text="pending, processing, success or failure"
    )
    message = serializers.CharField(
        read_only=True, allow_blank=True, help_text="Why it failed, when it did"
    )
    result = serializers.DictField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    expires_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def to_representation(self, task: dict) -> dict:
        answer = {name: task.get(name) for name in self.fields}
        for name in ("created_at", "updated_at", "expires_at"):
            answer[name] = utc(answer[name])
        return answer


def utc(timestamp: str | None) -> str | None:
    """Glance's task times are UTC without saying so (``2026-12-04T23:16:32.444858``):
    said here, as RFC 3339 wants (``...Z``)."""
    if not timestamp or timestamp.endswith("Z") or "+" in timestamp[10:]:
        return timestamp
    return f"{timestamp}Z"


@extend_schema_serializer(many=False)
class ImageTaskListSerializer(serializers.Serializer):
    items = ImageTaskSerializer(many=True, read_only=True)

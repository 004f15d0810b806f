"""The progress document (``images/{id}/progress/``): built by ``services.progress``."""

from rest_framework import serializers

from .tasks import utc


class ProgressTaskSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    type = serializers.CharField(read_only=True, help_text="e.g. api_image_import")
    status = serializers.CharField(
        read_only=True, help_text="pending, processing, success or failure"
    )
    message = serializers.CharField(read_only=True, allow_blank=True, allow_null=True)
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)


class ImageProgressSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True, allow_null=True)
    size = serializers.IntegerField(read_only=True, allow_null=True)
    stores = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="The stores that hold its data"
    )
    importing_to = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Glance's os_glance_importing_to_stores: stores an import or copy still goes to",
    )
    failed_stores = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Glance's os_glance_failed_import: stores an import or copy failed for",
    )
    task = ProgressTaskSerializer(
        read_only=True, allow_null=True, help_text="Its newest task; null when it has none"
    )
    bytes_done = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="What the newest task reports as copied (Glance's 'Copied N MiB'); null "
        "when Glance reports nothing",
    )
    stalled = serializers.BooleanField(read_only=True)
    stall_reason = serializers.CharField(read_only=True, allow_null=True)
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def to_representation(self, document: dict) -> dict:
        answer = dict(document)
        if answer.get("task"):
            answer["task"] = {**answer["task"], "updated_at": utc(answer["task"]["updated_at"])}
        return answer

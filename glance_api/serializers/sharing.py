"""Sharing an image with other projects: members and their answers."""

from rest_framework import serializers

MEMBER_STATUSES = ("accepted", "rejected", "pending")


class MemberSerializer(serializers.Serializer):
    """A project an image is shared with, and whether it accepted."""

    class Meta:
        optional_fields = ("schema",)

    image_id = serializers.UUIDField(read_only=True)
    member_id = serializers.CharField(help_text="The project to share the image with (its id).")
    status = serializers.ChoiceField(MEMBER_STATUSES, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    schema = serializers.CharField(read_only=True, required=False)


class MemberStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        MEMBER_STATUSES, help_text="The member's answer (only the member project may set it)."
    )

"""What Glance's image cache gives and takes (API 2.14)."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from .metadef_writes import StrictSerializer


class CachedImageSerializer(serializers.Serializer):
    image_id = serializers.CharField()
    hits = serializers.IntegerField(help_text="How often it was served from the cache")
    last_accessed = serializers.FloatField(help_text="When it was last served (Unix time)")
    last_modified = serializers.FloatField(help_text="When it was cached (Unix time)")
    size = serializers.IntegerField()


@extend_schema_serializer(many=False)
class ImageCacheStateSerializer(serializers.Serializer):
    cached_images = CachedImageSerializer(many=True)
    queued_images = serializers.ListField(
        child=serializers.CharField(), help_text="Ids of the images queued for caching"
    )


class ClearCacheQuerySerializer(StrictSerializer):
    target = serializers.ChoiceField(
        ("cache", "queue", "both"),
        default="both",
        help_text="What to clear: the cache, the queue, or both",
    )

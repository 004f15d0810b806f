"""Glance's image cache (admin by Glance's default policy)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from .. import services
from ..schema import IMAGE_NOT_FOUND
from ..serializers import ClearCacheQuerySerializer
from .base import GlanceViewSet

REFUSED = OpenApiResponse(description="Glance's policy refuses it (admin only by default)")
LACKS = OpenApiResponse(
    description="This Glance has no image cache API (older than 2.14), "
    "or no image cache configured: the answer says which"
)


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


@extend_schema(tags=["cache"])
class ImageCacheViewSet(GlanceViewSet):
    """Glance's image cache: what is cached and queued; queue, remove, clear."""

    plural_name = "Image Cache"

    pagination_class = None
    lookup_field = "image_id"
    image_id_kwarg = "image_id"

    @extend_schema(responses={200: ImageCacheStateSerializer, 403: REFUSED, 501: LACKS})
    def list(self, request):
        """The cached images (with hits, size and times) and the queued ones (ids)."""
        return Response(services.cache_state(self.glance))

    @extend_schema(
        request=None,
        responses={
            202: None,
            400: OpenApiResponse(description="The image is not active"),
            403: REFUSED,
            404: IMAGE_NOT_FOUND,
            501: LACKS,
        },
    )
    def update(self, request, image_id=None):
        """Queue an active image for caching; Glance caches it in the background."""
        services.queue_image(self.glance, image_id)
        return Response(status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={204: None, 403: REFUSED, 404: IMAGE_NOT_FOUND, 501: LACKS})
    def destroy(self, request, image_id=None):
        """Remove an image from the cache and from the queue."""
        services.uncache_image(self.glance, image_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[ClearCacheQuerySerializer],
        operation_id="glance_cache_clear",
        responses={204: None, 403: REFUSED, 501: LACKS},
    )
    def destroy_all(self, request):
        """Clear the cache, the queue, or both (``target``)."""
        target = self.query(ClearCacheQuerySerializer).validated_data["target"]
        services.clear_cache(self.glance, target)
        return Response(status=status.HTTP_204_NO_CONTENT)

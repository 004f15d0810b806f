"""Glance's image cache (admin by Glance's default policy)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from .. import services
from ..schema import GLANCE_LACKS_CACHE, IMAGE_NOT_FOUND, POLICY_REFUSES
from ..serializers import ClearCacheQuerySerializer, ImageCacheStateSerializer
from .base import GlanceViewSet


@extend_schema(tags=["cache"])
class ImageCacheViewSet(GlanceViewSet):
    """Glance's image cache: what is cached and queued; queue, remove, clear."""

    plural_name = "Image Cache"

    pagination_class = None
    lookup_field = "image_id"
    image_id_kwarg = "image_id"

    @extend_schema(
        responses={200: ImageCacheStateSerializer, 403: POLICY_REFUSES, 501: GLANCE_LACKS_CACHE}
    )
    def list(self, request):
        """The cached images (with hits, size and times) and the queued ones (ids)."""
        return Response(services.cache_state(self.glance))

    @extend_schema(
        request=None,
        responses={
            202: None,
            400: OpenApiResponse(description="The image is not active"),
            403: POLICY_REFUSES,
            404: IMAGE_NOT_FOUND,
            501: GLANCE_LACKS_CACHE,
        },
    )
    def update(self, request, image_id=None):
        """Queue an active image for caching; Glance caches it in the background."""
        services.queue_image(self.glance, image_id)
        return Response(status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses={204: None, 403: POLICY_REFUSES, 404: IMAGE_NOT_FOUND, 501: GLANCE_LACKS_CACHE}
    )
    def destroy(self, request, image_id=None):
        """Remove an image from the cache and from the queue."""
        services.uncache_image(self.glance, image_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[ClearCacheQuerySerializer],
        operation_id="glance_cache_clear",
        responses={204: None, 403: POLICY_REFUSES, 501: GLANCE_LACKS_CACHE},
    )
    def destroy_all(self, request):
        """Clear the cache, the queue, or both (``target``)."""
        target = self.query(ClearCacheQuerySerializer).validated_data["target"]
        services.clear_cache(self.glance, target)
        return Response(status=status.HTTP_204_NO_CONTENT)

"""The route of an image's data in one store (mixed into ImageViewSet)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import services
from ..schema import GLANCE_LACKS, IMAGE_NOT_FOUND


class ImageStoreActions:
    """``images/{id}/stores/{store}/``."""

    @extend_schema(
        request=None,
        responses={
            204: None,
            403: OpenApiResponse(description="Glance's policy refuses it"),
            404: IMAGE_NOT_FOUND,
            409: OpenApiResponse(description="The image's only copy, or the image is not active"),
            501: GLANCE_LACKS,
        },
    )
    @action(detail=True, methods=["delete"], url_path=r"stores/(?P<store>[^/]+)", url_name="store")
    def store(self, request, pk=None, store=None):
        """Delete the image's data from one store; the copies in other stores stay."""
        services.delete_from_store(self.glance, pk, store)
        return Response(status=status.HTTP_204_NO_CONTENT)

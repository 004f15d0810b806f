"""The route of an image's tasks (mixed into ImageViewSet)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import services
from ..schema import IMAGE_NOT_FOUND
from ..serializers import ImageTaskListSerializer

LACKS = OpenApiResponse(
    description="This Glance lacks the feature (its API version is "
    "older): the answer names what is missing"
)


class ImageTaskActions:
    """``images/{id}/tasks/``."""

    @extend_schema(responses={200: ImageTaskListSerializer, 404: IMAGE_NOT_FOUND, 501: LACKS})
    @action(detail=True, methods=["get"])
    def tasks(self, request, pk=None):
        """The image's tasks (imports, copies), newest first: why an import failed is
        in the failed task's ``message``."""
        items = services.list_image_tasks(self.glance, pk)
        return Response(ImageTaskListSerializer({"items": items}).data)

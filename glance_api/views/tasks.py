"""The route of an image's tasks (mixed into ImageViewSet)."""

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import services
from ..schema import GLANCE_LACKS, IMAGE_NOT_FOUND
from ..serializers import ImageTaskListSerializer


class ImageTaskActions:
    """``images/{id}/tasks/``."""

    @extend_schema(
        responses={200: ImageTaskListSerializer, 404: IMAGE_NOT_FOUND, 501: GLANCE_LACKS}
    )
    @action(detail=True, methods=["get"])
    def tasks(self, request, pk=None):
        """The image's tasks (imports, copies), newest first: why an import failed is
        in the failed task's ``message``."""
        items = services.list_image_tasks(self.glance, pk)
        return Response(ImageTaskListSerializer({"items": items}).data)

"""The route of an image's tasks (mixed into ImageViewSet)."""

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import services
from ..dataplane import conditional
from ..schema import GLANCE_LACKS, IF_NONE_MATCH, IMAGE_NOT_FOUND, NOT_MODIFIED, PREFER_WAIT
from ..serializers import ImageProgressSerializer, ImageTaskListSerializer


class ImageTaskActions:
    """``images/{id}/tasks/`` and ``images/{id}/progress/``."""

    @extend_schema(
        responses={200: ImageProgressSerializer, 304: NOT_MODIFIED, 404: IMAGE_NOT_FOUND},
        parameters=[IF_NONE_MATCH, PREFER_WAIT],
    )
    @action(detail=True, methods=["get"])
    def progress(self, request, pk=None):
        """Where the image stands: its status, stores, newest task, bytes copied, and
        whether it is stalled and why (docs: watching). Its strong ETag changes with any
        of these; with If-None-Match and ``Prefer: wait=N`` it is a long-poll."""
        document = ImageProgressSerializer(services.image_progress(self.glance, pk)).data
        return conditional.get_response(request, document, document)

    @extend_schema(
        responses={200: ImageTaskListSerializer, 404: IMAGE_NOT_FOUND, 501: GLANCE_LACKS}
    )
    @action(detail=True, methods=["get"])
    def tasks(self, request, pk=None):
        """The image's tasks (imports, copies), newest first: why an import failed is
        in the failed task's ``message``."""
        items = services.list_image_tasks(self.glance, pk)
        return Response(ImageTaskListSerializer({"items": items}).data)

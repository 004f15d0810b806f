"""The API's views: thin DRF ViewSets that validate, call ``services`` and serialize."""

from functools import cached_property

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, routers, viewsets
from rest_framework.response import Response

from . import services
from .auth import KeystoneSessionAuthentication, KeystoneTokenAuthentication
from .handlers import exception_handler
from .serializers import VersionSerializer


class KeystoneAPIMixin:
    """What every view of the app shares, whatever the project's DRF defaults are."""

    authentication_classes = [KeystoneTokenAuthentication, KeystoneSessionAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    def get_exception_handler(self):
        return exception_handler


class GlanceViewSet(KeystoneAPIMixin, viewsets.GenericViewSet):
    """Base of the resource viewsets: no queryset, Glance's own paging, the caller's client."""

    pagination_class = None
    lookup_value_regex = "[^/]+"

    @cached_property
    def glance(self) -> services.GlanceClient:
        """The caller's glanceclient, built once per request."""
        return services.client_for(self.request.auth)


class APIRootView(KeystoneAPIMixin, routers.APIRootView):
    """The Glance API: images, image data and metadata definitions of OpenStack Glance."""


@extend_schema(tags=["version"])
class VersionViewSet(GlanceViewSet):
    serializer_class = VersionSerializer

    def list(self, request):
        """The image API version in use, with the versions Glance supports."""
        return Response(self.get_serializer(services.get_version(self.glance)).data)

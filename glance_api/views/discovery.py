"""What this Glance is and offers: its version, import methods, stores, usage, JSON Schemas."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import services
from ..serializers import VersionSerializer
from .base import GlanceViewSet


@extend_schema(tags=["version"])
class VersionViewSet(GlanceViewSet):
    plural_name = "Version"

    serializer_class = VersionSerializer
    pagination_class = None

    @extend_schema(responses={200: VersionSerializer})
    def list(self, request):
        """The image API version in use, with the versions Glance supports."""
        return Response(VersionSerializer(services.get_version(self.glance)).data)


@extend_schema(tags=["discovery"])
class InfoViewSet(GlanceViewSet):
    """What this Glance offers: import methods, stores, the caller's quota usage."""

    plural_name = "Info"

    pagination_class = None

    def browsable_links(self, data) -> list[tuple[str, str]]:
        return [(name, url) for name, url in data.items()] if self.action == "list" else []

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def list(self, request):
        """Links to the discovery endpoints."""
        return Response(
            {
                name: self.reverse_action(name)
                for name in ("import", "stores", "stores-detail", "usage")
            }
        )

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=False, url_path="import", url_name="import", name="Import")
    def import_(self, request):
        """Import methods (and their settings) this Glance enables."""
        return Response(services.import_info(self.glance))

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=False)
    def stores(self, request):
        """The stores; with type and properties where Glance's policy shows them."""
        return Response(services.stores_info(self.glance))

    @extend_schema(
        responses={
            200: OpenApiTypes.OBJECT,
            403: OpenApiResponse(description="Glance's policy refuses it (admin only by default)"),
            501: OpenApiResponse(description="This Glance's API is older than 2.15"),
        }
    )
    @action(detail=False, url_path="stores/detail", url_name="stores-detail")
    def stores_detail(self, request):
        """The stores with their type and properties (admin by Glance's default policy)."""
        return Response(services.stores_detail(self.glance))

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=False)
    def usage(self, request):
        """The caller's project's quota usage."""
        return Response(services.usage_info(self.glance))


@extend_schema(tags=["discovery"])
class SchemaViewSet(GlanceViewSet):
    """Glance's JSON Schemas."""

    pagination_class = None

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def list(self, request):
        """Links to Glance's JSON Schemas."""
        return Response({"image": self.reverse_action("image")})

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=False)
    def image(self, request):
        """Glance's image schema: attributes, their types, the allowed formats."""
        return Response(services.image_schema(self.glance))

"""The API's views: thin DRF ViewSets that validate, call ``services`` and serialize."""

from functools import cached_property

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import permissions, routers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from . import services
from .auth import KeystoneSessionAuthentication, KeystoneTokenAuthentication
from .handlers import exception_handler
from .parsers import OctetStreamParser
from .serializers import (
    ImageCreateSerializer,
    ImageListQuerySerializer,
    ImagePropertiesSerializer,
    ImageSerializer,
    ImageUpdateSerializer,
    NamespaceListQuerySerializer,
    NamespaceQuerySerializer,
    NamespaceSerializer,
    ResourceTypeQuerySerializer,
    ResourceTypeSerializer,
    VersionSerializer,
    custom_properties,
)


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


IMAGE_ID = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The image's id (a UUID).")
NOT_FOUND = OpenApiResponse(description="No such image, or not visible to the caller")


def wants_representation(request) -> bool:
    """``Prefer: return=representation`` (RFC 7240) asks for the resource in the answer."""
    preferences = request.headers.get("Prefer", "")
    return any(p.strip() == "return=representation" for p in preferences.split(","))


@extend_schema(tags=["images"], parameters=[IMAGE_ID])
class ImageViewSet(GlanceViewSet):
    serializer_class = ImageSerializer

    def image_context(self, **more) -> dict:
        return {"schema": services.image_schema(self.glance), **more}

    @extend_schema(parameters=[ImageListQuerySerializer])
    def list(self, request):
        """Images the caller may see; every query parameter not listed is a Glance filter."""
        query = ImageListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = services.list_images(self.glance, **query.list_options())
        return Response({
            "items": ImageSerializer(page.items, many=True).data,
            "has_more_data": page.has_more_data,
            "has_prev_data": page.has_prev_data,
        })

    @extend_schema(request=ImageCreateSerializer, responses={201: ImageSerializer})
    def create(self, request):
        """Create an image from a URL, a multipart file, or for a later upload (file-direct)."""
        serializer = ImageCreateSerializer(data=request.data, context=self.image_context())
        serializer.is_valid(raise_exception=True)
        image = services.create_image(
            self.glance, serializer.glance_attributes(), **serializer.data_source()
        )
        body = ImageSerializer(image, context={"detail": True}).data
        if serializer.validated_data["source_type"] == "file-direct":
            body["upload_url"] = self.reverse_action("file", args=[image["id"]])
        location = self.reverse_action("detail", args=[image["id"]])
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})

    @extend_schema(responses={200: ImageSerializer, 404: NOT_FOUND})
    def retrieve(self, request, pk=None):
        """One image, with its extended attributes in ``properties``."""
        image = services.get_image(self.glance, pk)
        return Response(ImageSerializer(image, context={"detail": True}).data)

    @extend_schema(
        request=ImageUpdateSerializer,
        responses={204: None, 200: ImageSerializer, 404: NOT_FOUND},
    )
    def partial_update(self, request, pk=None):
        """Update an image; absent optional fields stay as they are.

        With ``Prefer: return=representation`` the answer is the image (200), else 204.
        """
        current = services.get_image(self.glance, pk)
        serializer = ImageUpdateSerializer(
            data=request.data, context=self.image_context(image=current)
        )
        serializer.is_valid(raise_exception=True)
        image = services.update_image(self.glance, pk, serializer.glance_attributes())
        if wants_representation(request):
            return Response(ImageSerializer(image, context={"detail": True}).data)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={204: None, 403: OpenApiResponse(description="Protected image"),
                              404: NOT_FOUND})
    def destroy(self, request, pk=None):
        """Delete an image (a protected image is refused with 403)."""
        services.delete_image(self.glance, pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(methods=["GET"], responses={200: OpenApiTypes.OBJECT, 404: NOT_FOUND})
    @extend_schema(methods=["PATCH"], request=ImagePropertiesSerializer,
                   responses={204: None, 404: NOT_FOUND})
    @action(detail=True, methods=["get", "patch"])
    def properties(self, request, pk=None):
        """An image's custom properties; PATCH sets ``updated`` and removes ``removed``."""
        if request.method == "GET":
            return Response(custom_properties(services.get_image(self.glance, pk)))
        serializer = ImagePropertiesSerializer(data=request.data, context=self.image_context())
        serializer.is_valid(raise_exception=True)
        services.update_image(
            self.glance, pk, serializer.validated_data["updated"],
            remove=serializer.validated_data["removed"],
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses={200: ImageSerializer, 404: NOT_FOUND,
                   409: OpenApiResponse(description="The image already has data")},
    )
    @action(detail=True, methods=["put"], parser_classes=[OctetStreamParser])
    def file(self, request, pk=None):
        """Upload the image's data: the request body is streamed to Glance as it arrives."""
        length = request.headers.get("Content-Length")
        image = services.upload_image(
            self.glance, pk, request.stream, size=int(length) if length else None
        )
        return Response(ImageSerializer(image, context={"detail": True}).data)

    @extend_schema(request=None, responses={
        204: None, 404: NOT_FOUND,
        403: OpenApiResponse(description="Not allowed, e.g. the image has no data yet")})
    @action(detail=True, methods=["post"], url_path="actions/deactivate")
    def deactivate(self, request, pk=None):
        """Deactivate an image so that its data cannot be downloaded."""
        services.deactivate_image(self.glance, pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={
        204: None, 404: NOT_FOUND, 409: OpenApiResponse(description="The image is not deactivated")})
    @action(detail=True, methods=["post"], url_path="actions/reactivate")
    def reactivate(self, request, pk=None):
        """Reactivate a deactivated image."""
        services.reactivate_image(self.glance, pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["metadefs"])
class NamespaceViewSet(GlanceViewSet):
    """Metadata definition namespaces, in full, as the dashboard lists them."""

    serializer_class = NamespaceSerializer
    lookup_field = "namespace"

    @extend_schema(
        parameters=[NamespaceListQuerySerializer],
        responses=inline_serializer("NamespaceList", {
            "items": NamespaceSerializer(many=True),
            "has_more_data": serializers.BooleanField(),
            "has_prev_data": serializers.BooleanField(),
        }),
    )
    def list(self, request):
        """Namespaces with their properties and objects; any parameter not listed is a filter."""
        query = NamespaceListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = services.list_namespaces(
            self.glance, scope=services.visibility_scope(request.auth), **query.list_options()
        )
        return Response({
            "items": NamespaceSerializer(page.items, many=True).data,
            "has_more_data": page.has_more_data,
            "has_prev_data": page.has_prev_data,
        })

    @extend_schema(
        parameters=[NamespaceQuerySerializer,
                    OpenApiParameter("namespace", str, OpenApiParameter.PATH,
                                     description="The namespace, e.g. OS::Compute::Hypervisor")],
        responses={200: NamespaceSerializer,
                   404: OpenApiResponse(description="No such namespace, or not visible")},
    )
    def retrieve(self, request, namespace=None):
        """One namespace, its property names prefixed for ``resource_type`` if given."""
        query = NamespaceQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        resource_type = query.validated_data.get("resource_type")
        return Response(services.get_namespace(self.glance, namespace, resource_type))


@extend_schema(tags=["metadefs"])
class ResourceTypeViewSet(GlanceViewSet):
    serializer_class = ResourceTypeSerializer

    @extend_schema(
        parameters=[ResourceTypeQuerySerializer],
        responses=inline_serializer("ResourceTypeList", {
            "items": ResourceTypeSerializer(many=True),
        }),
    )
    def list(self, request):
        """Resource types of metadata definitions; parameters filter on their fields."""
        query = ResourceTypeQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        items = [t for t in services.list_resource_types(self.glance) if query.matches(t)]
        return Response({"items": ResourceTypeSerializer(items, many=True).data})

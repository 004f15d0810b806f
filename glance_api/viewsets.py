"""The API's views: thin DRF ViewSets that validate, call ``services`` and serialize."""

import base64
from functools import cached_property

from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
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
from .negotiation import ContentNegotiation
from .parsers import OctetStreamParser
from .renderers import RENDERERS, OctetStreamRenderer
from .schema import GlanceAutoSchema
from .serializers import (
    ImageCreateSerializer,
    ImageImportSerializer,
    ImageListQuerySerializer,
    ImagePropertiesSerializer,
    ImageSerializer,
    ImageUpdateSerializer,
    MemberSerializer,
    MemberStatusSerializer,
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
    renderer_classes = RENDERERS
    content_negotiation_class = ContentNegotiation
    schema = GlanceAutoSchema()

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

    schema = None  # a list of links, not an operation of the API


@extend_schema(tags=["version"])
class VersionViewSet(GlanceViewSet):
    serializer_class = VersionSerializer

    def list(self, request):
        """The image API version in use, with the versions Glance supports."""
        return Response(self.get_serializer(services.get_version(self.glance)).data)


IMAGE_ID = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The image's id (a UUID).")
NOT_FOUND = OpenApiResponse(description="No such image, or not visible to the caller")


BYTES_RENDERERS = [*RENDERERS, OctetStreamRenderer]


def content_length(request) -> int | None:
    """The client's Content-Length, if it sent a valid one (else the body is chunked)."""
    length = request.headers.get("Content-Length", "")
    return int(length) if length.isdigit() else None


def image_file_response(image: dict, chunks) -> StreamingHttpResponse:
    """A streaming download of an image's bytes, with its size, name and hashes."""
    response = StreamingHttpResponse(chunks, content_type="application/octet-stream")
    if image.get("size") is not None:
        response["Content-Length"] = str(image["size"])
    name = (image.get("name") or image["id"]).replace("/", "_").replace("\\", "_")
    response["Content-Disposition"] = content_disposition_header(True, name)
    if image.get("checksum"):
        response["X-Image-Checksum"] = image["checksum"]
    algo, value = image.get("os_hash_algo"), image.get("os_hash_value")
    if algo and value:
        response["X-Image-Os-Hash-Algo"] = algo
        response["X-Image-Os-Hash-Value"] = value
        if algo in ("sha256", "sha512"):
            digest = base64.b64encode(bytes.fromhex(value)).decode()
            response["Repr-Digest"] = f"{algo.replace('sha', 'sha-')}=:{digest}:"
    return response


def wants_representation(request) -> bool:
    """``Prefer: return=representation`` (RFC 7240) asks for the resource in the answer."""
    preferences = request.headers.get("Prefer", "")
    return any(p.strip() == "return=representation" for p in preferences.split(","))


@extend_schema(tags=["images"], parameters=[IMAGE_ID])
class ImageViewSet(GlanceViewSet):
    serializer_class = ImageSerializer
    # What the browsable API draws its forms from (the OpenAPI schema is declared per action).
    form_serializers = {
        "create": ImageCreateSerializer,
        "partial_update": ImageUpdateSerializer,
        "properties": ImagePropertiesSerializer,
        "import_": ImageImportSerializer,
        "members": MemberSerializer,
        "member": MemberStatusSerializer,
    }

    def get_serializer_class(self):
        return self.form_serializers.get(self.action, ImageSerializer)

    def get_serializer(self, *args, **kwargs):
        # The browsable API fills its PUT form (PUT on the collection creates) from the
        # image it just showed; a create form starts empty instead.
        if self.action == "create":
            kwargs.pop("instance", None)
            args = ()
        return super().get_serializer(*args, **kwargs)

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

    @extend_schema(
        request=ImageCreateSerializer,
        responses={201: ImageSerializer},
        examples=[
            OpenApiExample("From a URL", request_only=True, value={
                "name": "cirros", "source_type": "url",
                "image_url": "http://example.com/cirros-0.6.2-x86_64-disk.img",
                "import_data": True, "disk_format": "qcow2", "visibility": "private",
                "protected": False, "min_disk": 1, "min_ram": 64, "os_distro": "cirros",
            }),
            OpenApiExample("For an upload (file-direct)", request_only=True, value={
                "name": "my-disk", "source_type": "file-direct", "disk_format": "raw",
                "visibility": "shared", "protected": False, "description": "Uploaded next",
            }),
        ],
    )
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
        parameters=[OpenApiParameter(
            "Prefer", str, OpenApiParameter.HEADER, enum=["return=representation"],
            description="return=representation: answer 200 with the image instead of 204.")],
        examples=[OpenApiExample("Rename and resize", request_only=True, value={
            "name": "cirros-0.6.2", "disk_format": "qcow2", "visibility": "public",
            "protected": True, "min_disk": 2, "architecture": "x86_64", "hw_disk_bus": "virtio",
        })],
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
                   responses={204: None, 404: NOT_FOUND},
                   examples=[OpenApiExample("Set two, remove one", request_only=True, value={
                       "updated": {"os_distro": "debian", "os_hidden": "true"},
                       "removed": ["hw_qemu_guest_agent"],
                   })])
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
        methods=["PUT"],
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses={200: ImageSerializer, 400: OpenApiResponse(description="Body cut off"),
                   404: NOT_FOUND, 409: OpenApiResponse(description="The image already has data")},
    )
    @extend_schema(
        methods=["GET"],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY,
                   204: OpenApiResponse(description="The image has no data"), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get", "put"], parser_classes=[OctetStreamParser],
            renderer_classes=BYTES_RENDERERS)
    def file(self, request, pk=None):
        """The image's bytes: PUT streams the body to Glance as it arrives; GET streams them back.

        GET answers with Content-Length, a file name, and the image's checksum and
        os_hash headers (also as ``Repr-Digest``, RFC 9530).
        """
        if request.method == "PUT":
            image = services.upload_image(self.glance, pk, request.stream, size=content_length(request))
            return Response(ImageSerializer(image, context={"detail": True}).data)
        data = services.download_image(self.glance, pk)
        if data.chunks is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return image_file_response(data.image, data.chunks)

    @extend_schema(
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses={200: ImageSerializer, 404: NOT_FOUND,
                   409: OpenApiResponse(description="The image is not queued")},
    )
    @action(detail=True, methods=["put"], parser_classes=[OctetStreamParser])
    def stage(self, request, pk=None):
        """Stage the image's data for a glance-direct import, streamed as it arrives."""
        image = services.stage_image(self.glance, pk, request.stream, size=content_length(request))
        return Response(ImageSerializer(image, context={"detail": True}).data)

    @extend_schema(request=ImageImportSerializer,
                   responses={202: ImageSerializer, 404: NOT_FOUND,
                              409: OpenApiResponse(description="Not in a state to import")},
                   examples=[
                       OpenApiExample("Staged data", request_only=True,
                                      value={"method": "glance-direct"}),
                       OpenApiExample("From a URL", request_only=True, value={
                           "method": "web-download", "uri": "http://example.com/disk.img"}),
                       OpenApiExample("Copy to another store", request_only=True, value={
                           "method": "copy-image", "stores": ["fs2"],
                           "all_stores_must_succeed": False}),
                   ])
    @action(detail=True, methods=["post"], url_path="import", url_name="import")
    def import_(self, request, pk=None):
        """Start an interoperable import; Glance works on, the image shows its progress."""
        serializer = ImageImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        image = services.import_image(self.glance, pk, **serializer.validated_data)
        return Response(ImageSerializer(image, context={"detail": True}).data,
                        status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={204: None, 404: NOT_FOUND},
                   parameters=[OpenApiParameter("tag", str, OpenApiParameter.PATH)])
    @action(detail=True, methods=["put", "delete"], url_path=r"tags/(?P<tag>[^/]+)")
    def tags(self, request, pk=None, tag=None):
        """Add (PUT) or remove (DELETE) one tag."""
        if request.method == "PUT":
            services.add_tag(self.glance, pk, tag)
        else:
            services.remove_tag(self.glance, pk, tag)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(methods=["GET"], responses={200: inline_serializer("MemberList", {
        "members": MemberSerializer(many=True)}), 404: NOT_FOUND})
    @extend_schema(methods=["POST"], request=MemberSerializer,
                   responses={201: MemberSerializer, 404: NOT_FOUND,
                              409: OpenApiResponse(description="Already a member")},
                   examples=[OpenApiExample("Share with a project", request_only=True,
                                            value={"member_id": "0d5c0d4b3f6e4a4f9d3e6f1b2a7c8d9e"})])
    @action(detail=True, methods=["get", "post"])
    def members(self, request, pk=None):
        """The projects the image is shared with; POST shares it with one more."""
        if request.method == "GET":
            members = services.list_members(self.glance, pk)
            return Response({"members": MemberSerializer(members, many=True).data})
        serializer = MemberSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = services.add_member(self.glance, pk, serializer.validated_data["member_id"])
        return Response(MemberSerializer(member).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses={200: MemberSerializer, 404: NOT_FOUND},
                   operation_id="glance_images_member_retrieve")
    @extend_schema(methods=["PATCH"], request=MemberStatusSerializer,
                   responses={200: MemberSerializer, 404: NOT_FOUND},
                   examples=[OpenApiExample("Accept", request_only=True,
                                            value={"status": "accepted"})],
                   operation_id="glance_images_member_partial_update")
    @extend_schema(methods=["DELETE"], responses={204: None, 404: NOT_FOUND},
                   operation_id="glance_images_member_destroy")
    @extend_schema(parameters=[OpenApiParameter("member_id", str, OpenApiParameter.PATH)])
    @action(detail=True, methods=["get", "patch", "delete"],
            url_path=r"members/(?P<member_id>[^/]+)")
    def member(self, request, pk=None, member_id=None):
        """One member; the member project answers with PATCH status, the owner DELETEs it."""
        if request.method == "GET":
            return Response(MemberSerializer(services.get_member(self.glance, pk, member_id)).data)
        if request.method == "DELETE":
            services.remove_member(self.glance, pk, member_id)
            return Response(status=status.HTTP_204_NO_CONTENT)
        serializer = MemberStatusSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = services.update_member(
            self.glance, pk, member_id, serializer.validated_data["status"]
        )
        return Response(MemberSerializer(member).data)

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


@extend_schema(tags=["discovery"])
class InfoViewSet(GlanceViewSet):
    """What this Glance offers: import methods, stores, the caller's quota usage."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def list(self, request):
        """Links to the discovery endpoints."""
        return Response({name: self.reverse_action(name) for name in ("import", "stores", "usage")})

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=False, url_path="import", url_name="import")
    def import_(self, request):
        """Import methods (and their settings) this Glance enables."""
        return Response(services.import_info(self.glance))

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=False)
    def stores(self, request):
        """The stores; with type and properties where Glance's policy shows them."""
        return Response(services.stores_info(self.glance))

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=False)
    def usage(self, request):
        """The caller's project's quota usage."""
        return Response(services.usage_info(self.glance))


@extend_schema(tags=["discovery"])
class SchemaViewSet(GlanceViewSet):
    """Glance's JSON Schemas."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def list(self, request):
        return Response({"image": self.reverse_action("image")})

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=False)
    def image(self, request):
        """Glance's image schema: attributes, their types, the allowed formats."""
        return Response(services.image_schema(self.glance))

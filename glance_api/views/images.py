"""Images: list, create, read, update, delete, custom properties, deactivate and reactivate.

The image's data, import, tasks, stores, members and tags are routes of the same viewset,
written in their own modules (``image_data``, ``tasks``, ``stores``, ``sharing``).
"""

from django.urls import NoReverseMatch
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ParseError
from rest_framework.response import Response

from .. import services
from ..dataplane import capabilities, conditional
from ..dataplane.uploadslots import upload_slot
from ..pagination import ImagePagination
from ..parsers import FILE_FIELD
from ..schema import (
    IF_MATCH,
    IF_NONE_MATCH,
    IMAGE_NOT_FOUND,
    IMPORT_FAILED,
    IMPORT_UNDER_WAY,
    NOT_MODIFIED,
    PRECONDITION_FAILED,
    PREFER_WAIT,
    PREFER_WAIT_WRITE,
)
from ..serializers import (
    CreatedImageSerializer,
    ImageCreateSerializer,
    ImageDetailSerializer,
    ImageImportSerializer,
    ImageListQuerySerializer,
    ImageProgressSerializer,
    ImagePropertiesSerializer,
    ImageSerializer,
    ImageUpdateSerializer,
    ImageUploadSerializer,
    MemberSerializer,
    MemberStatusSerializer,
    custom_properties,
)
from .base import GlanceViewSet
from .image_data import ImageDataActions
from .sharing import ImageSharingActions
from .stores import ImageStoreActions
from .tasks import ImageTaskActions
from .watching import ImageWatchActions


def wants_representation(request) -> bool:
    """``Prefer: return=representation`` (RFC 7240) asks for the resource in the answer."""
    preferences = request.headers.get("Prefer", "")
    return any(p.strip() == "return=representation" for p in preferences.split(","))


@extend_schema(tags=["images"])
class ImageViewSet(
    ImageDataActions,
    ImageTaskActions,
    ImageWatchActions,
    ImageStoreActions,
    ImageSharingActions,
    GlanceViewSet,
):
    serializer_class = ImageSerializer
    pagination_class = ImagePagination
    image_id_kwarg = "pk"
    put_creates = True  # the dashboard's client creates images with PUT images/
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

    def get_serializer_context(self):
        """For the browsable API's forms: Glance's formats as the choices."""
        context = super().get_serializer_context()
        if self.action in ("create", "partial_update") and self.request.auth is not None:
            try:
                context["schema"] = services.image_schema(self.glance)
            except APIException:  # the form falls back to Glance's default formats
                pass
        return context

    def get_parser_context(self, http_request):
        """What the multipart parser needs to stream a create's file to Glance."""
        return {
            **super().get_parser_context(http_request),
            "start_upload": self.start_multipart_upload,
            "upload_head_bytes": services.HEAD_BYTES,
        }

    def start_multipart_upload(self, fields, head: bytes):
        """For the multipart parser: create the image and start its upload, as the file of a
        multipart create begins (see ``glance_api.parsers.GlanceUploadHandler``)."""
        if self.action != "create":
            raise ParseError("This endpoint takes no file.")
        serializer = ImageCreateSerializer(context=self.image_context())
        return services.start_multipart_upload(self.glance, fields, head, serializer.upload_formats)

    def image_context(self, **more) -> dict:
        return {"schema": services.image_schema(self.glance), **more}

    def browsable_links(self, data) -> list[tuple[str, str]]:
        try:
            if self.action == "list" and isinstance(data, dict):
                return [
                    (
                        item.get("name") or item["id"],
                        self.reverse_action("detail", args=[item["id"]]),
                    )
                    for item in data.get("items", [])
                ]
            if self.action == "retrieve" and isinstance(data, dict) and "id" in data:
                args = [data["id"]]
                links = [
                    (title, self.reverse_action(name, args=args))
                    for title, name in (
                        ("Properties", "properties"),
                        ("File", "file"),
                        ("Members", "members"),
                        ("Tags", "tag-list"),
                        ("Tasks", "tasks"),
                    )
                ]
                return links + [
                    (f"Tag {tag}", self.reverse_action("tags", args=[*args, tag]))
                    for tag in data.get("tags", [])
                ]
        except (KeyError, NoReverseMatch):
            pass
        return []

    @extend_schema(
        parameters=[ImageListQuerySerializer, IF_NONE_MATCH, PREFER_WAIT],
        responses={200: ImageSerializer, 304: NOT_MODIFIED},
    )
    def list(self, request):
        """Images the caller may see; any query parameter not listed filters on a custom
        property of that name. Its strong ETag changes with anything in the answer."""
        query = self.query(ImageListQuerySerializer, also_known=self.paginator.query_params)
        page, search = services.find_images(
            self.glance,
            self.paginator.page_request(request),
            text=query.search_text(),
            scope=services.visibility_scope(request.auth),
            filters=query.filters(),
            sort_key=query.validated_data["sort_key"],
            sort_dir=query.validated_data["sort_dir"],
        )
        response = self.paginator.get_paginated_response(
            ImageSerializer(page.items, many=True).data, page, search
        )
        return conditional.tag_when_rendered(request, response)

    @extend_schema(
        request={
            "application/json": ImageCreateSerializer,
            "multipart/form-data": ImageUploadSerializer,
        },
        parameters=[PREFER_WAIT_WRITE],
        responses={
            201: CreatedImageSerializer,
            202: OpenApiResponse(ImageProgressSerializer, description=IMPORT_UNDER_WAY),
            400: IMPORT_FAILED,
        },
        examples=[
            OpenApiExample(
                "From a URL",
                request_only=True,
                value={
                    "name": "cirros",
                    "source_type": "url",
                    "image_url": "http://example.com/cirros-0.6.2-x86_64-disk.img",
                    "import_data": True,
                    "disk_format": "qcow2",
                    "visibility": "private",
                    "protected": False,
                    "min_disk": 1,
                    "min_ram": 64,
                    "os_distro": "cirros",
                },
            ),
            OpenApiExample(
                "For an upload (file-direct)",
                request_only=True,
                value={
                    "name": "my-disk",
                    "source_type": "file-direct",
                    "disk_format": "raw",
                    "visibility": "shared",
                    "protected": False,
                    "description": "Uploaded next",
                },
            ),
        ],
    )
    @sensitive_variables()
    def create(self, request):
        """Create an image from a URL, a multipart file, or for a later upload (file-direct)."""
        if request.content_type.startswith("multipart/"):  # an upload: a slot for it
            with upload_slot(request.auth.user_id):
                return self._create(request)
        return self._create(request)

    @sensitive_variables()
    def _create(self, request):
        data = request.data  # a multipart body's file goes to Glance as it is read
        streamed = getattr(request.FILES.get(FILE_FIELD), "upload", None)
        try:
            serializer = ImageCreateSerializer(data=data, context=self.image_context())
            serializer.is_valid(raise_exception=True)
            if streamed is not None:
                if streamed.formats is not None:  # None: kept aside, created only now
                    serializer.check_upload_formats(streamed.formats)
                image = services.complete_streamed_image(streamed, serializer.glance_attributes())
            else:
                image = services.create_image(
                    self.glance, serializer.glance_attributes(), **serializer.data_source()
                )
        except BaseException:
            if streamed is not None:
                streamed.discard()
            raise
        body = ImageDetailSerializer(image).data
        if serializer.validated_data["source_type"] == "file-direct":
            body["upload_url"] = capabilities.upload_url(request, image["id"])
        location = self.reverse_action("detail", args=[image["id"]])
        response = Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})
        # Glance fetches the data: Prefer: wait can wait for it (glance_api.watch.creates)
        response.awaits_import = bool(serializer.data_source().get("web_download"))
        return response

    @extend_schema(
        responses={200: ImageDetailSerializer, 304: NOT_MODIFIED, 404: IMAGE_NOT_FOUND},
        parameters=[IF_NONE_MATCH, PREFER_WAIT],
    )
    def retrieve(self, request, pk=None):
        """One image, with its extended attributes in ``properties``; its ETag changes with
        any change of the image (If-None-Match: 304). Its ``Link`` header names its tasks
        (``rel="tasks"``), where Glance tells why an import or a copy failed."""
        image = services.get_image(self.glance, pk)
        response = conditional.get_response(request, image, ImageDetailSerializer(image).data)
        # where an import's or a copy's failure is told (RFC 8288)
        response["Link"] = f'<{self.reverse_action("tasks", args=[pk])}>; rel="tasks"'
        return response

    @extend_schema(
        request=ImageUpdateSerializer,
        responses={
            204: None,
            200: ImageDetailSerializer,
            404: IMAGE_NOT_FOUND,
            412: PRECONDITION_FAILED,
        },
        parameters=[
            OpenApiParameter(
                "Prefer",
                str,
                OpenApiParameter.HEADER,
                enum=["return=representation"],
                description="return=representation: answer 200 with the image instead of 204.",
            ),
            IF_MATCH,
        ],
        examples=[
            OpenApiExample(
                "Rename and resize",
                request_only=True,
                value={
                    "name": "cirros-0.6.2",
                    "disk_format": "qcow2",
                    "visibility": "public",
                    "protected": True,
                    "min_disk": 2,
                    "architecture": "x86_64",
                    "hw_disk_bus": "virtio",
                },
            )
        ],
    )
    def partial_update(self, request, pk=None):
        """Update an image; absent optional fields stay as they are.

        With ``Prefer: return=representation`` the answer is the image (200), else 204.
        """
        current = services.get_image(self.glance, pk)
        conditional.check_if_match(request, current)
        serializer = ImageUpdateSerializer(
            data=request.data, context=self.image_context(image=current)
        )
        serializer.is_valid(raise_exception=True)
        image = services.update_image(
            self.glance, pk, serializer.glance_attributes(), current=current
        )
        tag = {"ETag": conditional.image_etag(image)}
        if wants_representation(request):
            return Response(ImageDetailSerializer(image).data, headers=tag)
        return Response(status=status.HTTP_204_NO_CONTENT, headers=tag)

    @extend_schema(
        responses={
            204: None,
            403: OpenApiResponse(description="Protected image"),
            404: IMAGE_NOT_FOUND,
            412: PRECONDITION_FAILED,
        },
        parameters=[IF_MATCH],
    )
    def destroy(self, request, pk=None):
        """Delete an image (a protected image is refused with 403)."""
        if "If-Match" in request.headers:
            conditional.check_if_match(request, services.get_image(self.glance, pk))
        services.delete_image(self.glance, pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["GET"],
        responses={200: OpenApiTypes.OBJECT, 304: NOT_MODIFIED, 404: IMAGE_NOT_FOUND},
        parameters=[IF_NONE_MATCH],
    )
    @extend_schema(
        methods=["PATCH"],
        request=ImagePropertiesSerializer,
        responses={204: None, 404: IMAGE_NOT_FOUND, 412: PRECONDITION_FAILED},
        parameters=[IF_MATCH],
        examples=[
            OpenApiExample(
                "Set two, remove one",
                request_only=True,
                value={
                    "updated": {"os_distro": "debian", "os_hidden": "true"},
                    "removed": ["hw_qemu_guest_agent"],
                },
            )
        ],
    )
    @action(detail=True, methods=["get", "patch"])
    def properties(self, request, pk=None):
        """An image's custom properties; PATCH sets ``updated`` and removes ``removed``."""
        if request.method == "GET":
            image = services.get_image(self.glance, pk)
            return conditional.get_response(request, image, custom_properties(image))
        current = services.get_image(self.glance, pk)
        conditional.check_if_match(request, current)
        serializer = ImagePropertiesSerializer(
            data=request.data, context=self.image_context(image=current)
        )
        serializer.is_valid(raise_exception=True)
        image = services.update_image(
            self.glance,
            pk,
            serializer.validated_data["updated"],
            remove=serializer.validated_data["removed"],
            current=current,
        )
        return Response(
            status=status.HTTP_204_NO_CONTENT, headers={"ETag": conditional.image_etag(image)}
        )

    @extend_schema(
        request=None,
        responses={
            204: None,
            404: IMAGE_NOT_FOUND,
            403: OpenApiResponse(description="Not allowed, e.g. the image has no data yet"),
        },
    )
    @action(detail=True, methods=["post"], url_path="actions/deactivate")
    def deactivate(self, request, pk=None):
        """Deactivate an image so that its data cannot be downloaded."""
        services.deactivate_image(self.glance, pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={
            204: None,
            404: IMAGE_NOT_FOUND,
            409: OpenApiResponse(description="The image is not deactivated"),
        },
    )
    @action(detail=True, methods=["post"], url_path="actions/reactivate")
    def reactivate(self, request, pk=None):
        """Reactivate a deactivated image."""
        services.reactivate_image(self.glance, pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

"""Routes of an image's data: streamed upload and download, staging, interoperable import."""

from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import services
from ..dataplane import accel, digests, ranges
from ..dataplane.uploadslots import upload_slot
from ..parsers import OctetStreamParser, upload_body
from ..renderers import RENDERERS, OctetStreamRenderer
from ..schema import (
    CARRIED_TO_GLANCE,
    CONTENT_DIGEST,
    DIGEST_REFUSED,
    IMAGE_NOT_FOUND,
    IMPORT_FAILED,
    PREFER_WAIT_WRITE,
    REPR_DIGEST,
)
from ..serializers import ImageDetailSerializer, ImageImportSerializer, UploadQuerySerializer

BYTES_RENDERERS = [*RENDERERS, OctetStreamRenderer]


def image_file_response(
    image: dict,
    chunks,
    byte_range: tuple[int, int] | None = None,
    head: bool = False,
    ranges_read: bool = True,
) -> StreamingHttpResponse:
    """A streaming download of an image's bytes (or of ``byte_range`` of them, a 206), with
    its size, name, hashes and ETag; with ``head``, the same headers and no body.
    ``ranges_read`` False: the image's store was asked for a range and read none."""
    response = StreamingHttpResponse(
        [] if head else chunks, content_type="application/octet-stream"
    )
    size = image.get("size")
    if byte_range is not None:
        first, last = byte_range
        response.status_code = status.HTTP_206_PARTIAL_CONTENT
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
        response["Content-Length"] = str(last - first + 1)
    elif size is not None:
        response["Content-Length"] = str(size)
    response["Accept-Ranges"] = "bytes" if ranges_read else "none"
    if ranges.file_etag(image):
        response["ETag"] = ranges.file_etag(image)
    name = (image.get("name") or image["id"]).replace("/", "_").replace("\\", "_")
    response["Content-Disposition"] = content_disposition_header(True, name)
    if image.get("checksum"):
        response["X-Image-Checksum"] = image["checksum"]
    algo, value = image.get("os_hash_algo"), image.get("os_hash_value")
    if algo and value:
        response["X-Image-Os-Hash-Algo"] = algo
        response["X-Image-Os-Hash-Value"] = value
        if digests.of_image(image):
            response["Repr-Digest"] = digests.of_image(image)
    return response


def uploaded(image: dict) -> Response:
    """An upload's answer: the image, with ``Repr-Digest`` of the data Glance stored."""
    response = Response(ImageDetailSerializer(image).data)
    if digests.of_image(image):
        response["Repr-Digest"] = digests.of_image(image)
    return response


class ImageDataActions:
    """``images/{id}/file/``, ``stage/`` and ``import/`` (mixed into ImageViewSet)."""

    @extend_schema(
        methods=["PUT"],
        request={"application/octet-stream": OpenApiTypes.BINARY},
        parameters=[UploadQuerySerializer, CONTENT_DIGEST, REPR_DIGEST],
        responses={
            200: ImageDetailSerializer,
            204: CARRIED_TO_GLANCE,
            400: DIGEST_REFUSED,
            404: IMAGE_NOT_FOUND,
            409: OpenApiResponse(description="The image already has data"),
            411: OpenApiResponse(description="A chunked body this server cannot take"),
        },
    )
    @extend_schema(
        methods=["GET"],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (206, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The single range asked for (Range), with Content-Range",
            ),
            204: OpenApiResponse(description="The image has no data"),
            304: OpenApiResponse(description="If-None-Match names the file's ETag"),
            404: IMAGE_NOT_FOUND,
            416: OpenApiResponse(
                description="The range starts past the image's end (Content-Range: bytes */<size>)"
            ),
        },
        parameters=[
            OpenApiParameter(
                "Range",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="One range: bytes=a-b, bytes=a- or bytes=-n; "
                "several ranges get the whole image",
            ),
            OpenApiParameter(
                "If-Range",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="The file's ETag: the range only while it matches",
            ),
            OpenApiParameter(
                "If-None-Match",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="The file's ETag: a 304 while it matches",
            ),
        ],
    )
    @action(
        detail=True,
        methods=["get", "put"],
        parser_classes=[OctetStreamParser],
        renderer_classes=BYTES_RENDERERS,
    )
    def file(self, request, pk=None):
        """The image's bytes: PUT streams the body to Glance as it arrives; GET streams them back.

        GET answers with Content-Length, a file name, and the image's checksum and
        os_hash headers (also as ``Repr-Digest``, RFC 9530).
        """
        if request.method == "PUT":
            return self._upload_file(request, pk)
        return self._download_file(request, pk)

    def _upload_file(self, request, pk):
        store = self.query(UploadQuerySerializer).validated_data.get("store")
        if store is not None:
            services.require_store(self.glance, store)
        requested = services.requested_digests(self.glance, request.headers)
        with upload_slot(request.auth.user_id):
            image = services.upload_image(
                self.glance, pk, *upload_body(request), store=store, requested=requested
            )
        return uploaded(image)

    def _download_file(self, request, pk):
        """GET and HEAD: a 304 for the file's ETag, the headers alone, the bytes (or a
        range of them, :mod:`glance_api.dataplane.ranges`), or nginx's hand-off
        (:mod:`glance_api.dataplane.accel`)."""
        image = services.get_image(self.glance, pk)
        etag = ranges.file_etag(image)
        if ranges.matches(request.headers.get("If-None-Match"), etag):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        if request.method == "HEAD":  # the headers only: no data is read from Glance
            if image.get("size") is None:
                return Response(status=status.HTTP_204_NO_CONTENT)
            return image_file_response(image, None, head=True)
        wanted = ranges.requested(
            request.headers.get("Range"),
            request.headers.get("If-Range"),
            etag,
            image.get("size"),
        )
        if image.get("size") is not None and accel.through_nginx(request):
            return accel.download(
                image_file_response(image, None, head=True), pk, request.auth.auth_token, wanted
            )
        data = services.download_image(self.glance, pk, image=image, byte_range=wanted)
        if data.chunks is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return image_file_response(
            data.image,
            data.chunks,
            data.byte_range,
            ranges_read=wanted is None or data.byte_range is not None,
        )

    @extend_schema(
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses={
            200: ImageDetailSerializer,
            204: CARRIED_TO_GLANCE,
            404: IMAGE_NOT_FOUND,
            409: OpenApiResponse(description="The image is not queued"),
            411: OpenApiResponse(description="A chunked body this server cannot take"),
        },
    )
    @action(detail=True, methods=["put"], parser_classes=[OctetStreamParser])
    def stage(self, request, pk=None):
        """Stage the image's data for a glance-direct import, streamed as it arrives."""
        with upload_slot(request.auth.user_id):
            image = services.stage_image(self.glance, pk, *upload_body(request))
        return Response(ImageDetailSerializer(image).data)

    @extend_schema(
        request=ImageImportSerializer,
        parameters=[PREFER_WAIT_WRITE],
        responses={
            200: OpenApiResponse(
                ImageDetailSerializer, description="With Prefer: wait, Glance is done: the image"
            ),
            202: ImageDetailSerializer,
            400: IMPORT_FAILED,
            404: IMAGE_NOT_FOUND,
            409: OpenApiResponse(description="Not in a state to import"),
        },
        examples=[
            OpenApiExample("Staged data", request_only=True, value={"method": "glance-direct"}),
            OpenApiExample(
                "From a URL",
                request_only=True,
                value={"method": "web-download", "uri": "http://example.com/disk.img"},
            ),
            OpenApiExample(
                "Copy to another store",
                request_only=True,
                value={"method": "copy-image", "stores": ["fs2"], "all_stores_must_succeed": False},
            ),
        ],
    )
    @action(detail=True, methods=["post"], url_path="import", url_name="import", name="Import")
    def import_(self, request, pk=None):
        """Start an interoperable import; Glance works on, the image shows its progress."""
        serializer = ImageImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        image = services.import_image(self.glance, pk, **serializer.validated_data)
        response = Response(ImageDetailSerializer(image).data, status=status.HTTP_202_ACCEPTED)
        response.awaits_import = True  # Prefer: wait can wait for it (glance_api.watch.creates)
        return response

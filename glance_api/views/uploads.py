"""``uploads/{secret}/``: the upload URL a file-direct create answers with.

A PUT of the image's bytes, with no Keystone token and no CSRF header (the dashboard's
direct upload sends neither): the secret in the URL is the capability (see
``glance_api.dataplane.capabilities``). The bytes are streamed to Glance with the token of the
caller who created the image.
"""

from django.views.decorators.debug import sensitive_variables
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import keystone, services
from ..dataplane import capabilities
from ..dataplane.uploadslots import upload_slot
from ..handlers import exception_handler
from ..parsers import OctetStreamParser, upload_body
from ..renderers import RENDERERS
from ..schema import (
    CARRIED_TO_GLANCE,
    CONTENT_DIGEST,
    DIGEST_REFUSED,
    REPR_DIGEST,
    GlanceAutoSchema,
)
from ..serializers import ImageDetailSerializer
from .base import PrivateAnswersMixin
from .image_data import uploaded


class UploadView(PrivateAnswersMixin, APIView):
    authentication_classes = []  # the URL is the capability
    permission_classes = [permissions.AllowAny]
    parser_classes = [OctetStreamParser]
    renderer_classes = RENDERERS
    schema = GlanceAutoSchema()

    def get_exception_handler(self):
        return exception_handler

    @extend_schema(
        tags=["images"],
        operation_id="glance_uploads_update",
        auth=[],
        parameters=[
            OpenApiParameter(
                "secret", str, OpenApiParameter.PATH, description="The secret of the upload URL."
            ),
            CONTENT_DIGEST,
            REPR_DIGEST,
        ],
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses={
            200: ImageDetailSerializer,
            204: CARRIED_TO_GLANCE,
            400: DIGEST_REFUSED,
            404: OpenApiResponse(description="Unknown, used or expired upload URL"),
        },
    )
    @sensitive_variables()
    def put(self, request, secret=None):
        """Upload the bytes of the image a file-direct create made; the URL works once."""
        held = capabilities.peek(secret)  # whose it is, leaving it usable if refused
        if held is None:
            raise exceptions.NotFound("This upload URL is unknown, used or expired.")
        with upload_slot(held["user_id"]):
            return self._upload(secret, held)

    @sensitive_variables()
    def _upload(self, secret: str, held: dict) -> Response:
        body = upload_body(self.request)  # a body refused (415, 411, 400) leaves it usable
        grant = capabilities.unseal(secret, held)
        if grant is None:
            raise exceptions.NotFound("This upload URL is unknown, used or expired.")
        glance = grant_client(grant)
        # a digest the API cannot check leaves it usable too
        requested = services.requested_digests(glance, self.request.headers)
        if capabilities.redeem(secret, held) is None:
            raise exceptions.NotFound("This upload URL is unknown, used or expired.")
        image = services.upload_image(glance, grant["image_id"], *body, requested=requested)
        return uploaded(image)


@sensitive_variables()
def grant_client(grant: dict) -> services.GlanceClient:
    """Glance as the caller who made an upload URL sees it (its grant's token); a 403 when
    that sign-in has ended."""
    try:
        access_info = keystone.validate_token(grant["token"])
    except exceptions.AuthenticationFailed as exc:
        raise exceptions.PermissionDenied(
            "The sign-in that created this upload URL has ended."
        ) from exc
    return services.client_for(access_info)

"""nginx's ``auth_request`` for an upload it carries to Glance (``glance_api.dataplane.accel``).

nginx asks with a PUT that has the client's headers but not its body (nginx carries only
PUTs), naming the upload in ``X-Original-URI``. The answer is a 204 whose headers say
where nginx sends the body (Glance's path, the caller's token, the store), or a refusal
(:func:`glance_api.dataplane.accel.refusal`). ``X-Refusal-Status: via-app`` sends the upload
through the app instead: where its own check of the bytes' format is needed
(:func:`glance_api.services.app_must_inspect`), or a digest is to be checked after the
upload (:func:`checks_digest`).

Without nginx's secret (``ACCEL_SECRET``) this is a 404, as for any unknown URL.
"""

import urllib.parse

from django.urls import Resolver404, resolve
from django.views.decorators.debug import sensitive_variables
from rest_framework import exceptions, permissions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import services
from ..dataplane import accel, capabilities
from ..identifiers import is_uuid
from ..parsers import require_octet_stream
from ..serializers import UploadQuerySerializer
from .base import KeystoneAPIMixin
from .uploads import grant_client

# what the original URI names (url names of glance_api.urls)
IMAGE_DATA = {"image-file": ("file", "data"), "image-stage": ("stage", "staged data")}
UPLOAD_URL = "upload"


class UploadAuthorizationView(KeystoneAPIMixin, APIView):
    permission_classes = [permissions.AllowAny]  # each upload's own check (below)
    renderer_classes = [JSONRenderer]
    schema = None  # nginx's, not the API's

    through_nginx = False

    def initial(self, request, *args, **kwargs):
        self.through_nginx = accel.through_nginx(request)
        if not self.through_nginx:
            raise exceptions.NotFound()
        super().initial(request, *args, **kwargs)

    def perform_authentication(self, request):
        """Lazily, as :meth:`put` asks ``request.user``: an upload URL needs no identity
        (the dashboard sends a token that is none), an image's data does."""

    @sensitive_variables()
    def put(self, request):
        path, _, query = request.headers.get("X-Original-URI", "").partition("?")
        path = urllib.parse.unquote(path)
        # nginx carries them with or without the final slash; the named routes have it
        path = path if path.endswith("/") else f"{path}/"
        try:
            match = resolve(path)
        except Resolver404 as exc:
            raise exceptions.NotFound() from exc
        if match.url_name == UPLOAD_URL:
            require_octet_stream(request)  # as the app's own upload views do
            return self._upload_url(match.kwargs["secret"])
        if match.url_name not in IMAGE_DATA or not is_uuid(match.kwargs.get("pk", "")):
            raise exceptions.NotFound("No such image.")
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        require_octet_stream(request)
        what, name = IMAGE_DATA[match.url_name]
        glance = services.client_for(request.auth)
        image_id = match.kwargs["pk"]
        image = services.require_queued(glance, image_id, name)
        store = None
        if what == "file":
            options = UploadQuerySerializer(data=dict(urllib.parse.parse_qsl(query)))
            options.is_valid(raise_exception=True)
            store = options.validated_data.get("store")
            if store is not None:
                services.require_store(glance, store)
            if services.app_must_inspect(glance, image) or checks_digest(glance, request):
                return via_app()
        return to_glance(request.auth.auth_token, f"/v2/images/{image_id}/{what}", store)

    @sensitive_variables()
    def _upload_url(self, secret: str) -> Response:
        held = capabilities.peek(secret)
        grant = None if held is None else capabilities.unseal(secret, held)
        if grant is None:
            raise exceptions.NotFound("This upload URL is unknown, used or expired.")
        glance = grant_client(grant)
        image = services.require_queued(glance, grant["image_id"], "data")
        if services.app_must_inspect(glance, image) or checks_digest(glance, self.request):
            return via_app()  # the app's UploadView redeems the URL then
        if capabilities.redeem(secret, held) is None:  # another request used it meanwhile
            raise exceptions.NotFound("This upload URL is unknown, used or expired.")
        return to_glance(grant["token"], f"/v2/images/{grant['image_id']}/file", None)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        return accel.refusal(response) if self.through_nginx else response


@sensitive_variables()
def to_glance(token: str, path: str, store: str | None) -> Response:
    """nginx: send the body to Glance's ``path``, with ``token`` (and into ``store``)."""
    return Response(
        status=status.HTTP_204_NO_CONTENT,
        headers={accel.TOKEN_HEADER: token, "X-Glance-Path": path, "X-Glance-Store": store or ""},
    )


def checks_digest(glance, request) -> bool:
    """Whether the upload sends a digest: a field the API cannot check is refused here,
    before nginx sends a byte to Glance; one it can check sends the upload through the
    app, which sees the end of it and compares what Glance stored (nginx would answer
    with Glance's 204 before anything could)."""
    return services.requested_digests(glance, request.headers) is not None


def via_app() -> Response:
    """nginx: send the upload to the app, as without nginx's path."""
    return Response(status=status.HTTP_403_FORBIDDEN, headers={"X-Refusal-Status": "via-app"})

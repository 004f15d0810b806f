"""Watching images (mixed into ImageViewSet): ``images/{id}/progress/`` and
``images/events/``. Long-polls on these and on the image and the list are served by
``glance_api.watch`` (docs: watching)."""

from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, renderers, status
from rest_framework.decorators import action

from .. import services
from ..dataplane import conditional
from ..schema import (
    ERROR,
    IF_NONE_MATCH,
    IMAGE_NOT_FOUND,
    NOT_MODIFIED,
    PREFER_WAIT,
    VALIDATION_ERROR,
)
from ..serializers import ImageProgressSerializer
from ..watch import events


class EventStreamRenderer(renderers.BaseRenderer):
    """``text/event-stream``: what EventSource asks for; an error is its JSON."""

    media_type = "text/event-stream"
    format = "sse"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None:  # an error's answer: JSON, said so
            response["Content-Type"] = "application/json"
        return renderers.JSONRenderer().render(data)


class NeedsAsyncServer(exceptions.APIException):
    status_code = status.HTTP_501_NOT_IMPLEMENTED
    default_detail = (
        "The event stream is served by the app's asynchronous (ASGI) server, not by this "
        "WSGI server, where each stream would hold a thread (docs: production)."
    )
    default_code = "needs_async_server"


EVENTS = OpenApiResponse(
    response=OpenApiTypes.STR,
    description="Server-Sent Events: `image` events whose data is the image's progress "
    'document (`{"id": ..., "deleted": true}` for a deletion), each with an `id:` '
    "cursor; a comment line at least every 15 s; it ends when the token does.",
)


class ImageWatchActions:
    """``images/{id}/progress/`` and ``images/events/``."""

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
        responses={
            (200, "text/event-stream"): EVENTS,
            (400, "application/json"): OpenApiResponse(
                VALIDATION_ERROR, description="A malformed Last-Event-ID"
            ),
            (501, "application/json"): OpenApiResponse(
                ERROR, description="Served by the asynchronous server only (docs: production)"
            ),
        },
        parameters=[
            OpenApiParameter(
                "Last-Event-ID",
                str,
                OpenApiParameter.HEADER,
                description="The id of the last event received: what happened since is "
                "sent first (kept WATCH_REPLAY_SECONDS)",
            )
        ],
    )
    @action(
        detail=False,
        methods=["get"],
        renderer_classes=[EventStreamRenderer, renderers.JSONRenderer],
    )
    def events(self, request):
        """A live stream of the caller's images (Server-Sent Events): one event each time
        an image appears, changes status or progress, or is deleted."""
        if not isinstance(request._request, ASGIRequest):
            raise NeedsAsyncServer()
        since = request.headers.get("Last-Event-ID")
        try:
            since = events.cursor_of(since) if since else None
        except events.BadCursor:
            raise exceptions.ValidationError(
                {"Last-Event-ID": ["Not an event id of this stream (<ms>-<n>)."]}
            ) from None
        response = StreamingHttpResponse(
            events.stream(request.auth, request._request, since),
            content_type="text/event-stream; charset=utf-8",
        )
        response["X-Accel-Buffering"] = "no"  # nginx passes each event on as it comes
        return response

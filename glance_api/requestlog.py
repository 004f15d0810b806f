"""Request ids and the request log.

Every answer carries ``X-OpenStack-Request-ID`` (``req-<uuid>``; a valid one the client sent
is kept), and the same id goes to Glance (and Keystone) as the global request id, so one
id ties the API's log line to Glance's. One JSON line per request goes to the
``glance_api.requests`` logger: request id, user and project ids, method, path, status,
duration, the number and time of the calls to Glance, and the number of calls to Keystone
(a token validated from the cache makes none). Never a token, and never an
upload URL's secret.
"""

import contextvars
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field

from django.views.decorators.debug import sensitive_variables

from .middleware import BothModesMiddleware

HEADER = "X-OpenStack-Request-ID"
_VALID = re.compile(r"req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

logger = logging.getLogger("glance_api.requests")


@dataclass
class RequestContext:
    request_id: str
    glance_calls: int = 0
    glance_seconds: float = 0.0
    keystone_calls: int = 0
    started: float = field(default_factory=time.perf_counter)


current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "glance_api_request", default=None
)


def new_request_id() -> str:
    return f"req-{uuid.uuid4()}"


def request_id() -> str | None:
    """The id of the request being served in this thread, if any."""
    context = current.get()
    return context.request_id if context else None


_counting = threading.Lock()  # a request's concurrent fetches count into one context


def count_glance_call(seconds: float) -> None:
    context = current.get()
    if context is not None:
        with _counting:
            context.glance_calls += 1
            context.glance_seconds += seconds


def count_keystone_call() -> None:
    context = current.get()
    if context is not None:
        context.keystone_calls += 1


class RequestIdMiddleware(BothModesMiddleware):
    """Gives each request its id and writes its log line (add it first in MIDDLEWARE).
    It runs in the event loop under ASGI too (the waits of ``glance_api.watch``)."""

    def handle(self, request):
        context, reset = self._start(request)
        try:
            response = self.get_response(request)
        finally:
            current.reset(reset)
        return self._finish(request, response, context)

    async def ahandle(self, request):
        context, reset = self._start(request)
        try:
            response = await self.get_response(request)
        finally:
            current.reset(reset)
        return self._finish(request, response, context)

    @staticmethod
    def _start(request):
        sent = request.headers.get(HEADER, "")
        context = RequestContext(sent if _VALID.fullmatch(sent) else new_request_id())
        return context, current.set(context)

    def _finish(self, request, response, context: RequestContext):
        response[HEADER] = context.request_id
        if logger.isEnabledFor(logging.INFO):
            logger.info(json.dumps(self.line(request, response, context)))
        return response

    @staticmethod
    def line(request, response, context: RequestContext) -> dict:
        user = getattr(request, "user", None)
        return {
            "request_id": context.request_id,
            "user_id": getattr(user, "id", None) if getattr(user, "project_id", None) else None,
            "project_id": getattr(user, "project_id", None),
            # the address that connected (a proxy's, behind one) and, if a proxy said
            # whom it forwards, that (as it came: the proxy is to be trusted to set it)
            "client": request.META.get("REMOTE_ADDR"),
            "forwarded_for": request.META.get("HTTP_X_FORWARDED_FOR", "")[:200] or None,
            "method": request.method,
            "path": _loggable_path(request),
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - context.started) * 1000, 1),
            "glance_calls": context.glance_calls,
            "glance_ms": round(context.glance_seconds * 1000, 1),
            "keystone_calls": context.keystone_calls,
        }


UPLOAD_SECRET = re.compile(r"(/uploads/)[^/\s?\"]+")


class HideUploadSecrets(logging.Filter):
    """A logging filter that writes ``<secret>`` for an upload URL's secret in a record's
    message and arguments, and drops the request a record carries about an upload URL: for
    Django's loggers of requests (:data:`PATH_LOGGERS`) and any other log of request
    lines. (An upload URL is a credential: it stays usable until it is used, or for
    ``UPLOAD_URL_SECONDS``.)"""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if request is not None and UPLOAD_SECRET.search(str(getattr(request, "path", ""))):
            # its path, META and absolute URI all hold the secret: a handler that reports
            # the request (Django's AdminEmailHandler) reports none
            record.__dict__.pop("request", None)
        if isinstance(record.msg, str):
            record.msg = UPLOAD_SECRET.sub(r"\1<secret>", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                UPLOAD_SECRET.sub(r"\1<secret>", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


# Django's loggers that write a request's path: its request log (4xx and 5xx answers), the
# development server's request lines, CSRF refusals.
PATH_LOGGERS = ("django.request", "django.server", "django.security.csrf")


def hide_upload_secrets_in_django_logs() -> None:
    """Put :class:`HideUploadSecrets` on Django's loggers that write a request's path
    (the app does it when it is ready, in any project): their records carry no upload
    URL's secret, whichever handler writes them. (A logger's filter applies to what it
    logs itself, before any handler, the project's own included.)"""
    for name in PATH_LOGGERS:
        django_logger = logging.getLogger(name)
        if not any(isinstance(f, HideUploadSecrets) for f in django_logger.filters):
            django_logger.addFilter(HideUploadSecrets())


@sensitive_variables()
def _loggable_path(request) -> str:
    """The path, with an upload URL's secret left out (it is a credential)."""
    match = getattr(request, "resolver_match", None)
    secret = match.kwargs.get("secret") if match else None
    return request.path.replace(secret, "<secret>") if secret else request.path

"""API errors, and the one place that turns glanceclient's and keystoneauth's errors into them.

Everything that calls Glance or Keystone does so inside :func:`upstream_errors`; nothing
else translates. A failure of Glance or Keystone (5xx, unreachable, timed out) is logged
here, once; DRF renders every error as ``{"detail": ..., "code": ...}`` (see
``glance_api.handlers``).
"""

import html
import logging
import re
from contextlib import contextmanager

from glanceclient import exc as glance_exc
from keystoneauth1 import exceptions as ksa_exc
from rest_framework import exceptions, status

logger = logging.getLogger(__name__)


class GlanceRefusedToken(exceptions.AuthenticationFailed):
    """Glance answered 401: the token is bad, or Glance could not check it (see
    ``glance_api.keystone.recheck_token``, which tells the two apart)."""

    default_detail = "Glance did not accept the token; it may have expired or been revoked."


class GlanceConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the resource's current state."
    default_code = "conflict"


class GlanceTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request is too large or over quota."
    default_code = "too_large"


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class GlanceLacksFeature(exceptions.APIException):
    """The request needs a newer Glance than the endpoint serving it (its versions
    document says so: ``glance_api.services.discovery.require_version``)."""

    status_code = status.HTTP_501_NOT_IMPLEMENTED
    default_detail = "This Glance does not offer what the request needs."
    default_code = "glance_too_old"


class IncompleteBody(Exception):
    """The client's body ended before the length it announced."""


class LengthRequired(exceptions.APIException):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_detail = (
        "This server cannot take a chunked body: send a Content-Length. Nothing was changed."
    )
    default_code = "length_required"


class BadGateway(exceptions.APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = "The upstream service failed to answer the request."
    default_code = "bad_gateway"


# What a 503 asks the client to wait before trying again (Retry-After): Glance, Keystone
# or their database restarting take seconds; the metadefs cache tries Glance again after
# as long (glance_api.services.caching).
RETRY_AFTER_SECONDS = 5


class ServiceUnavailable(exceptions.APIException):
    """Glance or Keystone cannot answer for now: with ``Retry-After`` (DRF's exception
    handler sends an exception's ``wait`` as that header)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The upstream service is unavailable."
    default_code = "service_unavailable"
    wait = RETRY_AFTER_SECONDS


class GatewayTimeout(exceptions.APIException):
    status_code = status.HTTP_504_GATEWAY_TIMEOUT
    default_detail = "The upstream service did not answer in time."
    default_code = "gateway_timeout"


class GlanceOnlyCopy(GlanceConflict):
    default_detail = (
        "The image's data is in this store only: deleting it there would leave the image "
        "without data. Delete the image instead."
    )


class GlanceHasNoCache(GlanceLacksFeature):
    default_detail = (
        "This Glance has no image cache (its image_cache_dir is not set). Nothing was changed."
    )


class UpstreamError(exceptions.APIException):
    """A client error from Glance that has no class of its own; status set per instance."""

    default_code = "upstream_error"

    def __init__(self, status_code: int, detail: str, code: str | None = None):
        self.status_code = status_code
        super().__init__(detail, code)


# Glance's (or Keystone's) 4xx -> the API's error, given Glance's own message.
_CLIENT_ERRORS = {
    400: lambda detail: UpstreamError(400, detail, code="invalid"),
    401: lambda detail: GlanceRefusedToken(),
    403: exceptions.PermissionDenied,
    404: exceptions.NotFound,
    409: GlanceConflict,
    413: GlanceTooLarge,
    # Glance's 415 is about the image's bytes (they do not match its disk_format), not
    # about the media type the client sent.
    415: lambda detail: UpstreamError(400, detail, code="invalid"),
    414: lambda detail: UpstreamError(
        400, "The request is too long for Glance: use fewer or shorter filters.", code="too_long"
    ),
}


# Every status the API's errors have: the classes above, Glance's client errors as
# _CLIENT_ERRORS maps them, and DRF's own (400, 401, 403, 404, 405, 406, 415, 429).
# nginx answers an upload the app refuses with one of them: deploy/stack.py writes
# @upload_refused's branches from this (tests/test_errors.py checks both).
ERROR_STATUSES = (400, 401, 403, 404, 405, 406, 409, 411, 413, 415, 429, 501, 502, 503, 504)

# Glance's answers whose status misreads them, told apart by the words of Glance's message,
# since Glance gives nothing else to tell them by (no code, no header):
_BY_WORDS = {
    # DELETE /v2/stores/{store}/{id} on the image's last copy, after its policy passed
    (403, "from the only store containing"): GlanceOnlyCopy,
    # /v2/cache where no image_cache_dir is set: not a missing image
    (404, "Caching via API is not supported"): GlanceHasNoCache,
}


def _status_error(code: int, detail: str, service: str, overrides: dict) -> exceptions.APIException:
    if code in overrides:
        return overrides[code]
    for (status_code, words), error in _BY_WORDS.items():
        if code == status_code and words in detail:
            return error()
    if code < 500:
        return _CLIENT_ERRORS.get(code, lambda d: UpstreamError(code, d))(detail)
    logger.warning("%s answered %s", service, code)  # its text is not passed on
    if code == 503:
        return ServiceUnavailable(f"{service} is unavailable.")
    if code == 504:
        return GatewayTimeout(f"{service} did not answer in time.")
    if code in (500, 502):
        # What Glance and Keystone answer while their database restarts or is out of
        # reach: the client may try again shortly (a 503 with Retry-After).
        return ServiceUnavailable(f"{service} failed to answer the request.")
    return BadGateway(f"{service} failed to answer the request.")


def _glance_status(exc: glance_exc.HTTPException) -> int:
    """The status Glance answered: glanceclient keeps it only for the codes it has a class
    for; for the others (415, ...) its message starts with the status line."""
    if isinstance(exc.code, int):
        return exc.code
    status_line = re.match(r"^(\d{3}) ", str(exc.details or "").strip())
    return int(status_line.group(1)) if status_line else 502


def _glance_detail(exc: glance_exc.HTTPException) -> str:
    """Glance's own message, without the HTTP status line glanceclient puts first."""
    detail = re.sub(r"^\d{3} [A-Za-z ]+:\s*", "", str(exc.details or "").strip())
    return html.unescape(detail) or type(exc).__name__


def api_error(
    exc: Exception, service: str, overrides: dict | None = None
) -> exceptions.APIException:
    """The API error for an exception of glanceclient or keystoneauth talking to ``service``.

    ``overrides`` maps an upstream status to the error to give instead (for example a
    401 of Keystone's token validation means the caller's token is no good).
    """
    overrides = overrides or {}
    if isinstance(exc, glance_exc.HTTPException):
        return _status_error(_glance_status(exc), _glance_detail(exc), service, overrides)
    if isinstance(exc, ksa_exc.HttpError):
        return _status_error(
            exc.http_status or 502, exc.message or type(exc).__name__, service, overrides
        )
    if isinstance(exc, (glance_exc.InvalidEndpoint, ksa_exc.ConnectTimeout)):
        # glanceclient raises InvalidEndpoint for any timeout
        logger.warning("%s timed out: %s", service, exc)
        return GatewayTimeout(f"{service} did not answer in time.")
    if isinstance(exc, ksa_exc.SSLError):
        logger.warning("TLS error talking to %s: %s", service, exc)
        return ServiceUnavailable(f"{service} could not be reached over TLS.")
    if isinstance(exc, ksa_exc.EndpointNotFound):
        return ServiceUnavailable(f"The token's catalog has no {service} endpoint to use.")
    logger.warning("%s is unreachable: %s", service, exc)
    return ServiceUnavailable(f"{service} is unreachable.")


UPSTREAM_EXCEPTIONS = (
    glance_exc.HTTPException,
    glance_exc.CommunicationError,
    glance_exc.InvalidEndpoint,
    ksa_exc.ClientException,
)


@contextmanager
def upstream_errors(service: str = "Glance", overrides: dict | None = None):
    """Raise the API's error for any glanceclient or keystoneauth error inside the block."""
    try:
        yield
    except UPSTREAM_EXCEPTIONS as exc:
        raise api_error(exc, service, overrides) from exc


def glance_errors():
    """:func:`upstream_errors` for Glance."""
    return upstream_errors("Glance")


def check_glance_answer(answer) -> None:
    """Raise the API's error for an answer of Glance's HTTP API that is an error (one made
    with the keystoneauth adapter itself, as glanceclient would raise it)."""
    if answer.status_code >= 400:
        exc = glance_exc.from_response(answer, answer.content)
        raise api_error(exc, "Glance") from exc

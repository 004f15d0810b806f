"""API errors beyond DRF's own, and the translation of transport failures.

DRF renders each as ``{"detail": ..., "code": ...}`` (see ``glance_api.handlers``).
"""

import logging

from keystoneauth1 import exceptions as ksa_exc
from rest_framework import exceptions, status

logger = logging.getLogger(__name__)


class GlanceConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the resource's current state."
    default_code = "conflict"


class GlanceTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request is too large or over quota."
    default_code = "too_large"


class BadGateway(exceptions.APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = "The upstream service failed to answer the request."
    default_code = "bad_gateway"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The upstream service is unavailable."
    default_code = "service_unavailable"


class GatewayTimeout(exceptions.APIException):
    status_code = status.HTTP_504_GATEWAY_TIMEOUT
    default_detail = "The upstream service did not answer in time."
    default_code = "gateway_timeout"


class UpstreamError(exceptions.APIException):
    """A client error from Glance that has no class of its own; status set per instance."""

    default_code = "upstream_error"

    def __init__(self, status_code: int, detail: str, code: str | None = None):
        self.status_code = status_code
        super().__init__(detail, code)


def transport_error(exc: Exception, service: str) -> exceptions.APIException:
    """The API error for a keystoneauth transport failure talking to ``service``."""
    if isinstance(exc, ksa_exc.ConnectTimeout):
        logger.warning("%s timed out: %s", service, exc)
        return GatewayTimeout(f"{service} did not answer in time.")
    if isinstance(exc, ksa_exc.SSLError):
        logger.warning("TLS error talking to %s: %s", service, exc)
        return ServiceUnavailable(f"{service} could not be reached over TLS.")
    if isinstance(exc, ksa_exc.EndpointNotFound):
        return ServiceUnavailable(f"The token's catalog has no {service} endpoint to use.")
    logger.warning("%s is unreachable: %s", service, exc)
    return ServiceUnavailable(f"{service} is unreachable.")

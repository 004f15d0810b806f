"""Glance, through python-glanceclient: the only module that imports it.

Each function takes the caller's client (see :func:`client_for`), returns plain data,
and raises API errors (``glance_api.exceptions`` and DRF's) instead of glanceclient's.
"""

import logging
from contextlib import contextmanager

import glanceclient
from glanceclient import exc as glance_exc
from glanceclient.v2.client import Client as GlanceClient
from keystoneauth1 import access
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1.identity.access import AccessInfoPlugin
from rest_framework import exceptions

from . import keystone
from .conf import settings
from .exceptions import (
    BadGateway,
    GatewayTimeout,
    GlanceConflict,
    GlanceTooLarge,
    ServiceUnavailable,
    UpstreamError,
    transport_error,
)

logger = logging.getLogger(__name__)

__all__ = ["GlanceClient", "client_for", "glance_errors", "get_version"]


def client_for(access_info: access.AccessInfoV3) -> GlanceClient:
    """A glanceclient that calls Glance with the caller's own token.

    The image endpoint comes from the token's catalog (region and interface from
    settings) unless ``GLANCE_URL`` overrides it. Connections come from the process's
    shared pool, so building a client per request opens no connection.
    """
    return glanceclient.Client(
        "2",
        session=keystone.shared_session(),
        auth=AccessInfoPlugin(access_info, auth_url=settings.KEYSTONE_URL),
        interface=settings.INTERFACE,
        region_name=settings.REGION_NAME,
        endpoint_override=settings.GLANCE_URL,
    )


_CLIENT_ERRORS = (
    (glance_exc.HTTPBadRequest, lambda detail: UpstreamError(400, detail, code="invalid")),
    (glance_exc.HTTPUnauthorized, lambda detail: exceptions.AuthenticationFailed(
        "Glance did not accept the token; it may have expired or been revoked.")),
    (glance_exc.HTTPForbidden, exceptions.PermissionDenied),
    (glance_exc.HTTPNotFound, exceptions.NotFound),
    (glance_exc.HTTPConflict, GlanceConflict),
    (glance_exc.HTTPOverLimit, GlanceTooLarge),
)


def _api_error(exc: glance_exc.HTTPException) -> exceptions.APIException:
    code = exc.code if isinstance(exc.code, int) else 502
    if code < 500:
        detail = _glance_detail(exc)
        for glance_cls, make_error in _CLIENT_ERRORS:
            if isinstance(exc, glance_cls):
                return make_error(detail)
        return UpstreamError(code, detail)
    logger.warning("Glance answered %s", code)  # its text is not passed on
    if code == 503:
        return ServiceUnavailable("Glance is unavailable.")
    if code == 504:
        return GatewayTimeout("Glance did not answer in time.")
    return BadGateway("Glance failed to answer the request.")


def _glance_detail(exc: glance_exc.HTTPException) -> str:
    """Glance's own message, without the HTTP status line glanceclient puts first."""
    detail = str(exc.details or "").strip()
    return detail or type(exc).__name__


@contextmanager
def glance_errors():
    """Turn glanceclient's and keystoneauth's exceptions into API errors."""
    try:
        yield
    except glance_exc.HTTPException as exc:
        raise _api_error(exc) from exc
    except glance_exc.CommunicationError as exc:  # refused, unreachable
        logger.warning("Glance is unreachable: %s", exc)
        raise ServiceUnavailable("Glance is unreachable.") from exc
    except glance_exc.InvalidEndpoint as exc:  # glanceclient's name for any timeout
        logger.warning("Glance timed out: %s", exc)
        raise GatewayTimeout("Glance did not answer in time.") from exc
    except ksa_exc.ClientException as exc:  # no endpoint in the catalog, TLS, ...
        raise transport_error(exc, "Glance") from exc


# --- version ----------------------------------------------------------------


def get_version(glance: GlanceClient) -> dict:
    """The API version in use, and the versions Glance's discovery reports.

    Returns ``{"version": "2", "current": "2.17", "supported": ["2.17", "2.16", ...]}``;
    ``supported`` lists CURRENT and SUPPORTED versions, newest first.
    """
    with glance_errors():
        versions = glance.versions.list() or []
    usable = [v for v in versions if v.get("status") in ("CURRENT", "SUPPORTED")]
    usable.sort(key=lambda v: _version_key(v["id"]), reverse=True)
    current = next((v for v in usable if v["status"] == "CURRENT"), usable[0] if usable else None)
    return {
        "version": "2",
        "current": current["id"].lstrip("v") if current else None,
        "supported": [v["id"].lstrip("v") for v in usable],
    }


def _version_key(version_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version_id.lstrip("v").split(".") if part.isdigit())

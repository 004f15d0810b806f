"""Glance, through python-glanceclient: the only module that imports it.

Each function takes the caller's client (see :func:`client_for`), returns plain data,
and raises API errors (``glance_api.exceptions`` and DRF's) instead of glanceclient's.
"""

import hashlib
import html
import itertools
import json
import logging
import re
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import glanceclient
import warlock
from django.core.cache import caches
from glanceclient import exc as glance_exc
from glanceclient.v2 import schemas as glance_schemas
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

SCHEMA_SECONDS = 600


def client_for(access_info: access.AccessInfoV3) -> GlanceClient:
    """A glanceclient that calls Glance with the caller's own token.

    The image endpoint comes from the token's catalog (region and interface from
    settings) unless ``GLANCE_URL`` overrides it. Connections come from the process's
    shared pool. The client is built once per validated token and process and kept
    on it, like the endpoint: the validation is reused across requests (see
    ``keystone.local_validations``), and a glanceclient holds no per-call state.
    """
    where = (keystone.shared_session(), settings.GLANCE_URL or glance_endpoint(access_info),
             settings.KEYSTONE_URL)
    known = getattr(access_info, "_glance_api_client", None)
    if known is None or known[0] != where:
        session, endpoint, auth_url = where
        client = glanceclient.Client(
            "2", session=session, endpoint_override=endpoint,
            auth=AccessInfoPlugin(access_info, auth_url=auth_url),
        )
        known = (where, client)
        access_info._glance_api_client = known
    return known[1]


def glance_endpoint(access_info: access.AccessInfoV3) -> str:
    """The image endpoint of the token's catalog, looked up once per token and process.

    (keystoneauth copies the whole catalog on every lookup; the validated token's
    ``AccessInfo`` is reused across requests, so the answer is kept on it.)
    """
    where = (settings.INTERFACE, settings.REGION_NAME)
    known = getattr(access_info, "_glance_api_endpoint", None)
    if known is None or known[0] != where:
        try:
            url = access_info.service_catalog.url_for(
                service_type="image", interface=settings.INTERFACE,
                region_name=settings.REGION_NAME,
            )
        except ksa_exc.ClientException as exc:  # EndpointNotFound, ...
            raise transport_error(exc, "Glance") from exc
        known = (where, url)
        access_info._glance_api_endpoint = known
    return known[1]


# --- Glance's image schema, fetched once per endpoint and shared -------------------

_schemas: dict[str, tuple[float, dict, type, type]] = {}
_schemas_lock = threading.Lock()


def image_schema(glance: GlanceClient) -> dict:
    """Glance's image schema (JSON Schema), cached per Glance endpoint for a while.

    The warlock models built from it are given to the client, so glanceclient does not
    fetch the schema again for every new client (one per request).
    """
    with glance_errors():
        endpoint = glance.http_client.get_endpoint()
    now = time.monotonic()
    cached = _schemas.get(endpoint)
    if cached is None or now - cached[0] > SCHEMA_SECONDS:
        with glance_errors():
            raw = glance.schemas.get("image").raw()
        model = warlock.model_factory(raw, base_class=glance_schemas.SchemaBasedModel)
        unvalidated = warlock.model_factory(raw, base_class=glance_schemas.SchemaBasedModel)
        unvalidated.validate = lambda *args, **kwargs: None  # as glanceclient's own
        cached = (now, raw, model, unvalidated)
        with _schemas_lock:
            _schemas[endpoint] = cached
    # glanceclient's memoized properties (utils.memoized_property) of the images manager
    glance.images._lazy_once_model = cached[2]
    glance.images._lazy_once_unvalidated_model = cached[3]
    return cached[1]


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
    detail = re.sub(r"^\d{3} [A-Za-z ]+:\s*", "", str(exc.details or "").strip())
    return html.unescape(detail) or type(exc).__name__


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


# --- images -------------------------------------------------------------------


@dataclass
class Page:
    """One answer of a list: its items and, when paginated, whether there is more."""

    items: list[dict]
    has_more_data: bool = False
    has_prev_data: bool = False


def _reverse(sort_dir: str) -> str:
    return "asc" if sort_dir == "desc" else "desc"


def _page(items: list[dict], page_size: int, marker: str | None, reversed_order: bool) -> Page:
    """The dashboard's paging over up to ``page_size + 1`` items fetched from ``marker``.

    Going forward, ``marker`` is the last item of the page shown; with ``reversed_order``
    it is the first, the items were fetched in the opposite order, and the page comes
    back in the original order.
    """
    has_more_data = has_prev_data = False
    if len(items) > page_size:
        items = items[:page_size]
        has_more_data = True
        has_prev_data = marker is not None
    elif reversed_order and marker is not None:
        has_more_data = True
    elif marker is not None:
        has_prev_data = True
    if reversed_order:
        items.reverse()
    return Page(items, has_more_data, has_prev_data)


def list_images(
    glance: GlanceClient,
    *,
    filters: dict,
    sort_key: str,
    sort_dir: str,
    marker: str | None,
    limit: int,
    page_size: int | None,
    reversed_order: bool = False,
) -> Page:
    """A page of images as the dashboard pages them, or every image up to ``limit``.

    With ``page_size``, one more image than the page is asked for, to know whether
    there is more; ``reversed_order`` walks back from ``marker`` (the first image of
    the page shown) and gives the page in the original order.

    :raises ValidationError: Glance refused the marker.
    """
    request_size = page_size + 1 if page_size else limit
    kwargs = {"filters": filters, "sort_key": sort_key,
              "sort_dir": _reverse(sort_dir) if reversed_order else sort_dir}
    if marker:
        kwargs["marker"] = marker
    image_schema(glance)
    try:
        with glance_errors():  # pages are fetched lazily: iterate inside the block
            images = [
                dict(image)
                for image in itertools.islice(
                    glance.images.list(page_size=request_size, limit=request_size, **kwargs),
                    request_size,
                )
            ]
    except UpstreamError as exc:
        if marker and exc.status_code == 400 and marker in str(exc.detail):
            raise _unknown_marker(marker, "id") from exc
        raise
    if not page_size:
        return Page(images)
    return _page(images, page_size, marker, reversed_order)


def _unknown_marker(marker: str, what: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({"marker": [
        f"Unknown marker {marker!r}: it must be the {what} of an item of the list."
    ]})


def get_image(glance: GlanceClient, image_id: str) -> dict:
    """One image. Raises NotFound (also for a malformed id) or PermissionDenied."""
    image_schema(glance)
    with glance_errors():
        return dict(glance.images.get(image_id))


class StepFailed(exceptions.APIException):
    """A step after the image was created failed; the image was deleted again."""

    def __init__(self, step: str, cause: exceptions.APIException):
        self.status_code = cause.status_code
        detail = cause.detail if isinstance(cause.detail, str) else str(cause.detail)
        code = cause.get_codes()
        super().__init__(
            f"The image was created, but {step} failed, so it was deleted again: {detail}",
            code if isinstance(code, str) else "error",
        )


def create_image(
    glance: GlanceClient,
    attributes: dict,
    *,
    location: str | None = None,
    web_download: str | None = None,
    data: IO[bytes] | None = None,
    size: int | None = None,
) -> dict:
    """Create an image, then add its location, import it or upload its data.

    If a step after the creation fails, the new image is deleted again and the error
    (:class:`StepFailed`) says which step it was.
    """
    image_schema(glance)
    with glance_errors():
        image = glance.images.create(**attributes)
    image_id = image["id"]
    steps = []
    if location:
        steps.append(("adding the image URL as its location",
                      lambda: glance.images.add_location(image_id, location, {})))
    if web_download:
        steps.append(("importing the image from its URL (web-download)",
                      lambda: glance.images.image_import(image_id, "web-download",
                                                         uri=web_download)))
    if data is not None:
        steps.append(("uploading the image data",
                      lambda: glance.images.upload(image_id, data, image_size=size)))
    for step, call in steps:
        try:
            with glance_errors():
                call()
        except exceptions.APIException as exc:
            _discard(glance, image_id)
            raise StepFailed(step, exc) from exc
    if steps:
        return get_image(glance, image_id)
    return dict(image)


def _discard(glance: GlanceClient, image_id: str) -> None:
    try:
        glance.images.delete(image_id)
    except (glance_exc.ClientException, glance_exc.BaseException, ksa_exc.ClientException):
        logger.warning("Could not delete image %s after a failed create", image_id)


class IncompleteBody(Exception):
    """The client's body ended before the length it announced."""


class CountingReader:
    """Reads a request body for Glance, refusing to end early.

    If the body ends before ``length`` bytes, reading raises :class:`IncompleteBody`,
    which aborts the request to Glance mid-way, so Glance does not keep a partial file.
    """

    def __init__(self, stream: IO[bytes], length: int | None):
        self.stream, self.length, self.count = stream, length, 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        self.count += len(chunk)
        if not chunk and self.length is not None and self.count < self.length:
            raise IncompleteBody(f"The body ended after {self.count} of {self.length} bytes.")
        return chunk


def _send_data(send, image_id: str, stream: IO[bytes], size: int | None, where: str) -> None:
    reader = CountingReader(stream, size)
    try:
        with glance_errors():
            send(image_id, reader, image_size=size)
    except IncompleteBody as exc:
        raise exceptions.ParseError(f"{exc} Nothing was kept: the image has no {where}.") from exc
    except exceptions.APIException as exc:
        # Glance dropped a connection that broke because the body was cut off.
        if reader.length is not None and reader.count < reader.length:
            raise exceptions.ParseError(
                f"The body ended after {reader.count} of {reader.length} bytes. "
                f"Nothing was kept: the image has no {where}."
            ) from exc
        raise


def upload_image(
    glance: GlanceClient, image_id: str, stream: IO[bytes], size: int | None = None
) -> dict:
    """Stream ``stream`` to Glance as the image's data, in chunks; the image afterwards.

    ``size`` (the client's Content-Length) goes to Glance as the image size, and a body
    shorter than it is refused (ParseError) with no data kept. Raises NotFound, or
    GlanceConflict if the image already has data.
    """
    _send_data(glance.images.upload, image_id, stream, size, "data")
    return get_image(glance, image_id)


def stage_image(
    glance: GlanceClient, image_id: str, stream: IO[bytes], size: int | None = None
) -> dict:
    """Stream ``stream`` to Glance's staging area (interoperable import, glance-direct)."""
    _send_data(glance.images.stage, image_id, stream, size, "staged data")
    return get_image(glance, image_id)


def import_image(glance: GlanceClient, image_id: str, method: str, *, uri: str | None = None,
                 stores: list[str] | None = None, all_stores: bool = False,
                 all_stores_must_succeed: bool = True) -> dict:
    """Start Glance's interoperable import of an image; the image afterwards."""
    with glance_errors():
        glance.images.image_import(
            image_id, method, uri=uri, stores=stores or None, all_stores=all_stores or None,
            allow_failure=not all_stores_must_succeed,
        )
    return get_image(glance, image_id)


@dataclass
class ImageData:
    image: dict
    chunks: object  # an iterable of bytes, or None when the image has no data


def download_image(glance: GlanceClient, image_id: str) -> ImageData:
    """The image and an iterator over its bytes, read from Glance in chunks as consumed."""
    image = get_image(glance, image_id)
    with glance_errors():
        body = glance.images.data(image_id, do_checksum=False)
    if getattr(body, "wrapped", body) is None:  # Glance's 204: no data
        return ImageData(image, None)
    return ImageData(image, _guarded(body))


def _guarded(body):
    """Iterate over Glance's body, logging a failure mid-way.

    The status line and Content-Length were sent already, so the error ends the stream:
    the server closes the connection and the client sees a body shorter than announced.
    """
    try:
        yield from body
    except Exception:  # the status line was sent already: all we can do is stop
        logger.warning("Glance's download broke off mid-way", exc_info=True)
        raise


def add_tag(glance: GlanceClient, image_id: str, tag: str) -> None:
    with glance_errors():
        glance.image_tags.update(image_id, urllib.parse.quote(tag, safe=""))


def remove_tag(glance: GlanceClient, image_id: str, tag: str) -> None:
    with glance_errors():
        glance.image_tags.delete(image_id, urllib.parse.quote(tag, safe=""))


def list_members(glance: GlanceClient, image_id: str) -> list[dict]:
    with glance_errors():
        return [dict(member) for member in glance.image_members.list(image_id)]


def get_member(glance: GlanceClient, image_id: str, member_id: str) -> dict:
    with glance_errors():
        return dict(glance.image_members.get(image_id, member_id))


def add_member(glance: GlanceClient, image_id: str, member_id: str) -> dict:
    with glance_errors():
        return dict(glance.image_members.create(image_id, member_id))


def update_member(glance: GlanceClient, image_id: str, member_id: str, status: str) -> dict:
    with glance_errors():
        return dict(glance.image_members.update(image_id, member_id, status))


def remove_member(glance: GlanceClient, image_id: str, member_id: str) -> None:
    with glance_errors():
        glance.image_members.delete(image_id, member_id)


def import_info(glance: GlanceClient) -> dict:
    with glance_errors():
        return dict(glance.images.get_import_info())


def stores_info(glance: GlanceClient) -> dict:
    """The stores; with their details (type, weight, properties) where policy allows."""
    try:
        with glance_errors():
            return dict(glance.images.get_stores_info_detail())
    except exceptions.PermissionDenied:
        with glance_errors():
            return dict(glance.images.get_stores_info())


def usage_info(glance: GlanceClient) -> dict:
    with glance_errors():
        return {"usage": glance.info.get_usage()}


def update_image(
    glance: GlanceClient, image_id: str, changes: dict, remove: list[str] | None = None
) -> dict:
    """Set ``changes`` on an image and remove the ``remove`` properties; the new image."""
    image_schema(glance)
    with glance_errors():
        return dict(glance.images.update(image_id, remove_props=remove or None, **changes))


def delete_image(glance: GlanceClient, image_id: str) -> None:
    """Delete an image. Raises NotFound, or PermissionDenied (e.g. a protected image)."""
    with glance_errors():
        glance.images.delete(image_id)


def deactivate_image(glance: GlanceClient, image_id: str) -> None:
    """Deactivate an image. Raises NotFound, PermissionDenied or GlanceConflict."""
    with glance_errors():
        glance.images.deactivate(image_id)


def reactivate_image(glance: GlanceClient, image_id: str) -> None:
    """Reactivate a deactivated image. Raises NotFound, PermissionDenied or GlanceConflict."""
    with glance_errors():
        glance.images.reactivate(image_id)


# --- metadata definitions -----------------------------------------------------

_metadefs_pool: ThreadPoolExecutor | None = None
_metadefs_pool_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """The process's pool for fetching namespaces concurrently (built once, reused)."""
    global _metadefs_pool
    with _metadefs_pool_lock:
        if _metadefs_pool is None:
            _metadefs_pool = ThreadPoolExecutor(
                max_workers=settings.METADEFS_WORKERS, thread_name_prefix="glance-api-metadefs"
            )
    return _metadefs_pool


def visibility_scope(access_info: access.AccessInfoV3) -> list:
    """What decides which metadefs Glance shows a caller: the scope and the roles."""
    return [access_info.project_id, access_info.domain_id, access_info.system_scoped,
            sorted(access_info.role_names or [])]


def _get_json(glance: GlanceClient, path: str, params: dict | None = None) -> dict:
    """GET a Glance path, as JSON (metadefs are plain data: no schema models needed)."""
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    with glance_errors():
        _, body = glance.http_client.get(path + query)
    body.pop("self", None)
    return body


def _cached(key_parts: list, compute):
    """``compute()``, kept in Django's cache for ``METADEFS_CACHE_SECONDS``."""
    seconds = settings.METADEFS_CACHE_SECONDS
    if not seconds:
        return compute()
    digest = hashlib.sha256(json.dumps(key_parts, sort_keys=True).encode()).hexdigest()
    key = f"glance_api:metadefs:{digest}"
    cache = caches[settings.CACHE_ALIAS]
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, seconds)
    return value


def list_namespaces(
    glance: GlanceClient,
    *,
    scope: list,
    resource_type: str | None,
    filters: dict,
    sort_key: str,
    sort_dir: str,
    marker: str | None,
    limit: int,
    page_size: int | None,
    reversed_order: bool = False,
) -> Page:
    """Namespaces in full (properties, objects, tags), paged as the dashboard does.

    With ``resource_type`` only the namespaces associated with it, their property
    names prefixed as the association says. Glance lists namespaces without their
    contents, so each one of the page is fetched too, concurrently; the whole answer
    is cached per caller ``scope`` (see :func:`visibility_scope`) and query.
    """
    request_size = page_size + 1 if page_size else limit
    params = {**filters, "sort_key": sort_key, "limit": request_size,
              "sort_dir": _reverse(sort_dir) if reversed_order else sort_dir}
    if resource_type and "resource_types" not in params:
        params["resource_types"] = resource_type
    if marker:
        params["marker"] = marker

    def compute() -> Page:
        try:
            namespaces = _get_json(glance, "/v2/metadefs/namespaces", params)["namespaces"]
        except exceptions.NotFound as exc:
            if marker:
                raise _unknown_marker(marker, "namespace name") from exc
            raise
        page = _page(namespaces, page_size, marker, reversed_order) if page_size else Page(
            namespaces)
        fetched = _pool().map(
            lambda ns: _namespace_or_none(glance, ns["namespace"], resource_type), page.items
        )
        page.items = [namespace for namespace in fetched if namespace is not None]
        return page

    endpoint = glance.http_client.get_endpoint()
    return _cached(["namespaces", endpoint, scope, resource_type, params, page_size], compute)


def _namespace_or_none(glance: GlanceClient, name: str, resource_type: str | None):
    try:
        return get_namespace(glance, name, resource_type)
    except exceptions.NotFound:  # deleted since it was listed
        return None


def get_namespace(glance: GlanceClient, name: str, resource_type: str | None = None) -> dict:
    """One namespace with its properties, objects and tags. Raises NotFound."""
    params = {"resource_type": resource_type} if resource_type else None
    return _get_json(
        glance, f"/v2/metadefs/namespaces/{urllib.parse.quote(name, safe='')}", params
    )


def list_resource_types(glance: GlanceClient) -> list[dict]:
    """Every metadefs resource type Glance knows."""
    return _get_json(glance, "/v2/metadefs/resource_types")["resource_types"]

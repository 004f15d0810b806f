"""Client factories, and every place that reaches into glanceclient's or keystoneauth's internals.

- :func:`shared_session`: the process's keystoneauth session (one connection pool for all).
- :func:`client_for`: the caller's glanceclient, built with the caller's own token.
- :func:`image_schema`: Glance's image schema, fetched once per endpoint; each client's
  images manager reads it from there (:class:`_CachedSchemas`), so glanceclient never
  fetches it itself.
- :func:`access_body` / :func:`access_from_body`: a validated token as cacheable data.
- Glance's HTTP API where glanceclient's managers fall short, through its HTTP client:
  :func:`get_json` and :func:`send_json` (metadefs, tasks, stores, the cache),
  :func:`patch_image` (an update in one call), :func:`post_image_location` (2.17 with
  an older glanceclient), :func:`ranged_get` (a ``Range`` glanceclient would mangle),
  :func:`endpoint_of`. Every value put into a path goes through
  :func:`glance_api.services.paths.segment` or is quoted here.

What is private or internal here (the ``_data`` of keystoneauth's ``AccessInfo``, the
``schema_client`` and ``http_client`` of glanceclient, warlock's models, keystoneauth's
adapter) is used nowhere else, and ``tests/test_layout.py`` checks both that and that a
new release has not renamed it.
"""

import hashlib
import threading
import time
import urllib.parse
from collections import OrderedDict

import glanceclient
import requests
import warlock
from django.views.decorators.debug import sensitive_variables
from glanceclient.v2 import schemas as glance_schemas
from glanceclient.v2.client import Client as GlanceClient
from keystoneauth1 import access, adapter
from keystoneauth1 import session as ks_session
from keystoneauth1.identity.access import AccessInfoPlugin
from rest_framework import exceptions
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from . import requestlog
from .conf import settings
from .exceptions import glance_errors, upstream_errors

__all__ = [
    "GlanceClient",
    "access_body",
    "access_from_body",
    "client_for",
    "endpoint_of",
    "get_json",
    "glance_endpoint",
    "image_schema",
    "patch_image",
    "post_image_location",
    "ranged_get",
    "send_json",
    "shared_session",
]


# --- the process's keystoneauth session -------------------------------------------


class _StaleConnectionRetry(Retry):
    """urllib3's Retry, except that a read timeout is final (waiting twice helps no one)."""

    def increment(self, *args, error=None, **kwargs):
        if isinstance(error, ReadTimeoutError):
            raise error
        return super().increment(*args, error=error, **kwargs)


# A pooled connection the server closed while idle (gunicorn's keep-alive is 2 s) fails
# on its next use before any answer: try once more on a new connection. Only methods
# without a body, so an upload stream is never sent twice.
STALE_CONNECTION_RETRY = _StaleConnectionRetry(
    total=1,
    connect=1,
    read=1,
    status=0,
    other=0,
    redirect=0,
    allowed_methods=frozenset({"GET", "HEAD", "DELETE"}),
    raise_on_status=False,
)
_session_lock = threading.Lock()
_session: ks_session.Session | None = None
_session_options: tuple | None = None


class _Session(ks_session.Session):
    """keystoneauth's session: every call carries the id of the request it serves (the
    global request id), and calls to Glance are counted for the request log."""

    def request(self, url, method, **kwargs):
        if kwargs.get("global_request_id") is None:
            kwargs["global_request_id"] = requestlog.request_id()
        to_glance = (kwargs.get("endpoint_filter") or {}).get("service_type") == "image"
        start = time.perf_counter()
        try:
            response = super().request(url, method, **kwargs)
        finally:
            if to_glance:
                requestlog.count_glance_call(time.perf_counter() - start)
        if not response.ok and not _json_errors_glanceclient_reads(response):
            # glanceclient reads a JSON error as {name: {"message": ...}}; any other JSON
            # would crash it (an AttributeError: a 500): it gets the body as text instead
            response.headers["Content-Type"] = "text/plain"
        return response


def _json_errors_glanceclient_reads(response) -> bool:
    """Whether ``response`` is not JSON, or JSON of the shape glanceclient's error
    handling (``glanceclient.exc.from_response``) reads without failing."""
    if "json" not in response.headers.get("Content-Type", ""):
        return True
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and all(isinstance(item, dict) for item in body.values())


def shared_session() -> ks_session.Session:
    """The process's keystoneauth session: pooled connections, no auth plugin of its own.

    Callers pass their own ``auth`` per call (see :func:`client_for`), so one pool of
    HTTP connections serves every caller. Rebuilt if the TLS, timeout, pool or
    environment settings change.
    """
    global _session, _session_options
    options = (settings.verify, settings.TIMEOUT, settings.POOL_MAXSIZE, settings.TRUST_ENV)
    with _session_lock:
        if _session is None or options != _session_options:
            http = requests.Session()
            http.trust_env = settings.TRUST_ENV
            adapter = requests.adapters.HTTPAdapter(
                pool_maxsize=settings.POOL_MAXSIZE, max_retries=STALE_CONNECTION_RETRY
            )
            http.mount("http://", adapter)
            http.mount("https://", adapter)
            _session = _Session(session=http, verify=settings.verify, timeout=settings.TIMEOUT)
            _session_options = options
        return _session


# --- validated tokens as data -------------------------------------------------------


def access_body(access_info: access.AccessInfoV3) -> dict:
    """The token's body as Keystone gave it (keystoneauth keeps it in ``_data``)."""
    return access_info._data


@sensitive_variables()
def access_from_body(body: dict, token: str) -> access.AccessInfoV3:
    return access.create(body=body, auth_token=token)


# --- the caller's glanceclient --------------------------------------------------------

# What this process made for a token (its glanceclient, its catalog's Glance endpoint),
# by a hash of the token: {name: (the settings it was made with, value)}; the tokens
# used longest ago go first beyond KEPT_TOKENS.
KEPT_TOKENS = 1024
_kept_values: OrderedDict[str, dict[str, tuple]] = OrderedDict()
_kept_lock = threading.Lock()


@sensitive_variables()
def _kept(access_info: access.AccessInfoV3, name: str, where: tuple, make):
    key = hashlib.sha256(access_info.auth_token.encode()).hexdigest()
    with _kept_lock:
        values = _kept_values.get(key)
        if values is None:
            values = _kept_values[key] = {}
            while len(_kept_values) > KEPT_TOKENS:
                _kept_values.popitem(last=False)
        else:
            _kept_values.move_to_end(key)
        known = values.get(name)
    if known is None or known[0] != where:
        known = (where, make())
        with _kept_lock:
            values[name] = known
    return known[1]


def forget_kept() -> None:
    """Drop what was made for every token (as a restart would)."""
    with _kept_lock:
        _kept_values.clear()


# The catalog's Glance endpoints this process has called (what readyz/ checks without
# GLANCE_URL).
seen_endpoints: set[str] = set()


def client_for(access_info: access.AccessInfoV3) -> GlanceClient:
    """A glanceclient that calls Glance with the caller's own token.

    The image endpoint comes from the token's catalog (region and interface from
    settings) unless ``GLANCE_URL`` overrides it. Connections come from the process's
    shared pool. One client is built per validated token and process (a glanceclient
    holds no per-call state), and rebuilt if the session, endpoint or Keystone URL
    settings change.
    """
    session = shared_session()
    endpoint = settings.GLANCE_URL
    if not endpoint:
        endpoint = glance_endpoint(access_info)
        seen_endpoints.add(endpoint)
    auth_url = settings.KEYSTONE_URL

    def make() -> GlanceClient:
        client = glanceclient.Client(
            "2",
            session=session,
            endpoint_override=endpoint,
            auth=AccessInfoPlugin(access_info, auth_url=auth_url),
        )
        # its images manager builds its models from the schema this process keeps
        client.images.schema_client = _CachedSchemas(client)
        return client

    return _kept(access_info, "client", (session, endpoint, auth_url), make)


def glance_endpoint(access_info: access.AccessInfoV3) -> str:
    """The image endpoint of the token's catalog, looked up once per token and process
    (keystoneauth copies the whole catalog on every lookup)."""

    def make() -> str:
        with upstream_errors("Glance"):  # EndpointNotFound: 503 naming the catalog
            return access_info.service_catalog.url_for(
                service_type="image",
                interface=settings.INTERFACE,
                region_name=settings.REGION_NAME,
            )

    return _kept(access_info, "endpoint", (settings.INTERFACE, settings.REGION_NAME), make)


# --- Glance's image schema, fetched once per endpoint and shared ----------------------

SCHEMA_SECONDS = 600
_schemas: dict[str, tuple[float, dict]] = {}
_schemas_lock = threading.Lock()


def image_schema(glance: GlanceClient) -> dict:
    """Glance's image schema (JSON Schema), cached per Glance endpoint for a while."""
    endpoint = endpoint_of(glance)
    now = time.monotonic()
    cached = _schemas.get(endpoint)
    if cached is None or now - cached[0] > SCHEMA_SECONDS:
        with upstream_errors("Glance"):
            raw = glance.schemas.get("image").raw()
        cached = (now, raw)
        with _schemas_lock:
            _schemas[endpoint] = cached
    return cached[1]


class _CachedSchemas:
    """What a glanceclient's images manager asks for its models (its ``schema_client``):
    the image schema from :func:`image_schema`, the others from Glance as glanceclient
    would. The manager builds its models once (memoized), on first use."""

    def __init__(self, glance: GlanceClient):
        self.glance = glance

    def get(self, name: str) -> glance_schemas.Schema:
        if name == "image":
            return glance_schemas.Schema(image_schema(self.glance))
        return self.glance.schemas.get(name)


def forget_image_schemas() -> None:
    """Drop the cached schemas (as a restart would)."""
    with _schemas_lock:
        _schemas.clear()


# --- Glance's HTTP API where glanceclient's managers fall short -----------------------


def endpoint_of(glance: GlanceClient) -> str:
    """The Glance endpoint ``glance`` calls."""
    with upstream_errors("Glance"):
        return glance.http_client.get_endpoint()


def _with_query(path: str, params: dict | None) -> str:
    return f"{path}?{urllib.parse.urlencode(params)}" if params else path


def get_json(glance: GlanceClient, path: str, params: dict | None = None) -> dict:
    """GET a Glance path, as JSON, without its ``self`` link (Glance's plain-JSON
    resources: glanceclient's managers add nothing there but schema models)."""
    with glance_errors():
        _, body = glance.http_client.get(_with_query(path, params))
    body.pop("self", None)
    return body


def send_json(
    glance: GlanceClient,
    method: str,
    path: str,
    body: dict | list | None = None,
    options: dict | None = None,
) -> dict | None:
    """POST, PUT, PATCH or DELETE a Glance path with a JSON body; Glance's JSON answer, if
    any. ``options``: Glance's headers (X-Openstack-Append, the cache's clear target,
    a JSON patch's Content-Type)."""
    send = getattr(glance.http_client, method.lower())
    kwargs = {"headers": options} if options else {}
    if body is not None:
        kwargs["data"] = body
    with glance_errors():
        _, answer = send(path, **kwargs)
    if isinstance(answer, dict):
        answer.pop("self", None)
        return answer
    return None


def patch_image(glance: GlanceClient, image_id: str, current: dict, changes: dict, remove) -> dict:
    """Glance's answer to one PATCH of the image: the JSON patch from ``current`` to
    ``changes`` less ``remove``, built with glanceclient's own model (warlock) exactly as
    ``glance.images.update`` builds it, without that method's two GETs around it."""
    with glance_errors():
        image = glance.images.model(**current)
        for key, value in changes.items():
            try:
                setattr(image, key, value)
            except warlock.InvalidOperation as exc:
                raise exceptions.ValidationError({key: [str(exc)]}) from exc
        # As glanceclient: remove only what the image has and is not being set.
        for key in set(image).intersection(set(remove).difference(changes)):
            delattr(image, key)
    return send_json(
        glance,
        "PATCH",
        f"/v2/images/{urllib.parse.quote(image_id, safe='')}",
        image.patch,
        options={"Content-Type": "application/openstack-images-v2.1-json-patch"},
    )


def post_image_location(glance: GlanceClient, image_id: str, url: str) -> None:
    """Glance's 2.17 locations API. glanceclient before 4.7 (2024.1's 4.5, as a Horizon
    24 venv pins it) has no call for it: the same request is then made with its HTTP
    client, as the newer call makes it."""
    with glance_errors():
        if hasattr(glance.images, "add_image_location"):
            glance.images.add_image_location(image_id, url)
            return
    send_json(
        glance,
        "POST",
        f"/v2/images/{urllib.parse.quote(image_id, safe='')}/locations",
        {"url": url, "validation_data": {}},
    )


@sensitive_variables()
def ranged_get(glance: GlanceClient, image_id: str, first: int, last: int):
    """Glance's answer to a GET of the image's file with ``Range``, streamed, whatever
    its status (the caller reads 200, 206 and the errors itself).

    Through the keystoneauth adapter under glanceclient's HTTP client: glanceclient
    percent-encodes header values (``bytes%3D0-99``), which Glance cannot parse.
    """
    client = glance.http_client
    headers = {"Range": f"bytes={first}-{last}", "Accept": "application/octet-stream"}
    if getattr(client, "global_request_id", None):
        headers["X-OpenStack-Request-ID"] = client.global_request_id
    with glance_errors():
        return adapter.Adapter.request(
            client,
            f"/v2/images/{urllib.parse.quote(image_id, safe='')}/file",
            "GET",
            headers=headers,
            stream=True,
            raise_exc=False,
        )

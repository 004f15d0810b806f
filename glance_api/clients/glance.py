"""The caller's glanceclient, built once per token, and Glance's image schema, fetched once
per endpoint; a validated token as cacheable data."""

import hashlib
import threading
import time
from collections import OrderedDict

import glanceclient
from django.views.decorators.debug import sensitive_variables
from glanceclient.v2 import schemas as glance_schemas
from glanceclient.v2.client import Client as GlanceClient
from keystoneauth1 import access
from keystoneauth1.identity.access import AccessInfoPlugin

from ..conf import settings
from ..exceptions import upstream_errors
from .http import endpoint_of
from .session import shared_session

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

"""Metadata definitions: namespaces in full (fetched concurrently, cached), resource types."""

import contextvars
import hashlib
import json
import logging
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from django.core.cache import caches
from keystoneauth1 import access
from rest_framework import exceptions

from .. import requestlog
from ..clients import GlanceClient
from ..conf import settings
from ..exceptions import glance_errors
from ..pagination import Page, PageRequest
from .images import unknown_marker

logger = logging.getLogger(__name__)

_pool_instance: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """The process's pool for fetching namespaces concurrently (built once, reused)."""
    global _pool_instance
    with _pool_lock:
        if _pool_instance is None:
            _pool_instance = ThreadPoolExecutor(
                max_workers=settings.METADEFS_WORKERS, thread_name_prefix="glance-api-metadefs"
            )
    return _pool_instance


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


def cached(key_parts: list, compute):
    """``compute()``, kept in the shared cache for ``METADEFS_CACHE_SECONDS``: for what
    changes as rarely as metadata definitions (namespace lists, resource types, Glance's
    versions). ``key_parts`` say what the value depends on: the Glance endpoint, and the
    caller's scope where Glance's answer depends on it.

    A request that finds the entry past half its life still gets it at once, and
    refreshes it in the background (one process at a time), so a value asked for at
    least once per half-life is never computed while someone waits.
    """
    seconds = settings.METADEFS_CACHE_SECONDS
    if not seconds:
        return compute()
    digest = hashlib.sha256(json.dumps(key_parts, sort_keys=True).encode()).hexdigest()
    key = f"glance_api:metadefs:v2:{digest}"
    cache = caches[settings.CACHE_ALIAS]
    entry = cache.get(key)
    if entry is None:
        value = compute()
        cache.set(key, (time.time(), value), seconds)
        return value
    stored_at, value = entry
    if time.time() - stored_at > seconds / 2:
        _refresh_in_background(key, compute, seconds)
    return value


def _refresh_in_background(key: str, compute, seconds: float) -> None:
    """Recompute a cache entry in a thread of its own, unless a process already is.

    The thread carries the request's id to Glance (in a request context of its own, so
    the request's log line does not count its calls). If Glance fails, the entry stays
    as it is until it expires, and no other refresh is tried for ``TIMEOUT`` seconds.
    """
    cache = caches[settings.CACHE_ALIAS]
    if not cache.add(f"{key}:refreshing", True, settings.TIMEOUT):
        return
    request_id = requestlog.request_id() or requestlog.new_request_id()

    def refresh():
        requestlog.current.set(requestlog.RequestContext(request_id=request_id))
        try:
            value = compute()
        except Exception:  # logged; the old entry serves until it expires
            logger.warning("Could not refresh a metadefs cache entry", exc_info=True)
            return
        cache.set(key, (time.time(), value), seconds)
        cache.delete(f"{key}:refreshing")

    _refresher().submit(contextvars.copy_context().run, refresh)


_refresher_instance: ThreadPoolExecutor | None = None


def _refresher() -> ThreadPoolExecutor:
    """The process's threads for background refreshes (apart from the fetching pool,
    which a refresh itself uses)."""
    global _refresher_instance
    with _pool_lock:
        if _refresher_instance is None:
            _refresher_instance = ThreadPoolExecutor(
                max_workers=2, thread_name_prefix="glance-api-refresh")
    return _refresher_instance


def list_namespaces(
    glance: GlanceClient,
    page: PageRequest,
    *,
    scope: list,
    sort_key: str,
    sort_dir: str,
    resource_type: str | None = None,
    properties_target: str | None = None,
    filters: dict | None = None,
) -> Page:
    """Namespaces in full (properties, objects, tags), paged as the dashboard does.

    With ``resource_type`` only the namespaces associated with it, their property names
    prefixed as the association says, and with ``properties_target`` only those whose
    association has that target. Glance lists namespaces without their contents, so
    each one of the page is fetched too, concurrently; the whole answer is cached per
    caller ``scope`` (see :func:`visibility_scope`) and query.
    """
    params = {**(filters or {}), "sort_key": sort_key, "limit": page.fetch,
              "sort_dir": page.sort_dir(sort_dir)}
    if resource_type and "resource_types" not in params:
        params["resource_types"] = resource_type
    if page.marker:
        params["marker"] = page.marker

    def compute() -> Page:
        try:
            namespaces = _get_json(glance, "/v2/metadefs/namespaces", params)["namespaces"]
        except exceptions.NotFound as exc:
            if page.marker:
                raise unknown_marker(page.marker, "namespace name") from exc
            raise
        if resource_type and properties_target:
            namespaces = [ns for ns in namespaces
                          if _targets(ns, resource_type, properties_target)]
        result = page.cut(namespaces)
        context = contextvars.copy_context()  # each fetch carries the request's id
        fetched = _pool().map(
            lambda ns: context.copy().run(
                _namespace_or_none, glance, ns["namespace"], resource_type),
            result.items,
        )
        result.items = [namespace for namespace in fetched if namespace is not None]
        return result

    endpoint = glance.http_client.get_endpoint()
    return cached(["namespaces", endpoint, scope, resource_type, properties_target, params,
                    page.page_size, page.reversed_order], compute)


def _targets(namespace: dict, resource_type: str, target: str) -> bool:
    """Whether the namespace's association with ``resource_type`` has ``target``."""
    return any(association.get("name") == resource_type
               and association.get("properties_target") == target
               for association in namespace.get("resource_type_associations", []))


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


def list_resource_types(glance: GlanceClient, filters: dict | None = None) -> list[dict]:
    """The metadefs resource types Glance knows; with ``filters``, those whose fields
    equal every value given."""
    endpoint = glance.http_client.get_endpoint()  # the same for every caller of a Glance
    types = cached(["resource_types", endpoint], lambda: _get_json(
        glance, "/v2/metadefs/resource_types")["resource_types"])
    filters = filters or {}
    return [t for t in types if all(t.get(k) == v for k, v in filters.items())]

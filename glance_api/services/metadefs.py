"""Metadata definitions: namespaces in full (fetched concurrently, cached), resource types."""

import contextvars
import hashlib
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from keystoneauth1 import access
from rest_framework import exceptions

from ..cache import app_cache
from ..clients import GlanceClient
from ..conf import settings
from ..pagination import Page, PageRequest, unknown_marker
from .caching import cached
from .paths import segment
from .rest import get_json

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
    return [
        access_info.project_id,
        access_info.domain_id,
        access_info.system_scoped,
        sorted(access_info.role_names or []),
    ]


def _generation_key(glance: GlanceClient) -> str:
    endpoint = hashlib.sha256(glance.http_client.get_endpoint().encode()).hexdigest()
    return f"glance_api:metadefs:generation:{endpoint}"


def _generation(glance: GlanceClient) -> str | None:
    """The current generation of this Glance endpoint's cached metadefs: part of their
    cache keys, so that :func:`forget_cached` makes every entry of it stale at once."""
    return app_cache().get(_generation_key(glance))


def forget_cached(glance: GlanceClient) -> None:
    """Make the cached namespace lists and resource types of this Glance endpoint stale,
    on every instance sharing the cache (after a metadefs write)."""
    app_cache().set(_generation_key(glance), uuid.uuid4().hex, None)


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
    params = {
        **(filters or {}),
        "sort_key": sort_key,
        "limit": page.fetch,
        "sort_dir": page.sort_dir(sort_dir),
    }
    if resource_type and "resource_types" not in params:
        params["resource_types"] = resource_type
    if page.marker:
        params["marker"] = page.marker

    def compute() -> Page:
        try:
            namespaces = get_json(glance, "/v2/metadefs/namespaces", params)["namespaces"]
        except exceptions.NotFound as exc:
            if page.marker:
                raise unknown_marker(page.marker, "namespace name") from exc
            raise
        if resource_type and properties_target:
            namespaces = [ns for ns in namespaces if _targets(ns, resource_type, properties_target)]
        result = page.cut(namespaces)
        context = contextvars.copy_context()  # each fetch carries the request's id
        fetched = _pool().map(
            lambda ns: context.copy().run(
                _namespace_or_none, glance, ns["namespace"], resource_type
            ),
            result.items,
        )
        result.items = [namespace for namespace in fetched if namespace is not None]
        return result

    endpoint = glance.http_client.get_endpoint()
    return cached(
        [
            "namespaces",
            endpoint,
            _generation(glance),
            scope,
            resource_type,
            properties_target,
            params,
            page.page_size,
            page.reversed_order,
        ],
        compute,
    )


def _targets(namespace: dict, resource_type: str, target: str) -> bool:
    """Whether the namespace's association with ``resource_type`` has ``target``."""
    return any(
        association.get("name") == resource_type and association.get("properties_target") == target
        for association in namespace.get("resource_type_associations", [])
    )


def _namespace_or_none(glance: GlanceClient, name: str, resource_type: str | None):
    try:
        return get_namespace(glance, name, resource_type)
    except exceptions.NotFound:  # deleted since it was listed
        return None


def get_namespace(glance: GlanceClient, name: str, resource_type: str | None = None) -> dict:
    """One namespace with its properties, objects and tags. Raises NotFound."""
    params = {"resource_type": resource_type} if resource_type else None
    return get_json(glance, f"/v2/metadefs/namespaces/{segment(name, 'namespace')}", params)


def list_resource_types(glance: GlanceClient, filters: dict | None = None) -> list[dict]:
    """The metadefs resource types Glance knows; with ``filters``, those whose fields
    equal every value given."""
    endpoint = glance.http_client.get_endpoint()  # the same for every caller of a Glance
    types = cached(
        ["resource_types", endpoint, _generation(glance)],
        lambda: get_json(glance, "/v2/metadefs/resource_types")["resource_types"],
    )
    filters = filters or {}
    return [t for t in types if all(t.get(k) == v for k, v in filters.items())]

"""Metadata definitions: namespaces in full (fetched concurrently, cached per caller
scope, selected and paged in the process), resource types."""

import contextvars
import hashlib
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from keystoneauth1 import access
from rest_framework import exceptions

from ..cache import app_cache
from ..clients import GlanceClient, endpoint_of, get_json
from ..conf import settings
from ..pagination import Page, PageRequest, unknown_marker
from .caching import cached
from .paths import segment

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
    endpoint = hashlib.sha256(endpoint_of(glance).encode()).hexdigest()
    return f"glance_api:metadefs:generation:{endpoint}"


def _generation(glance: GlanceClient) -> str | None:
    """The current generation of this Glance endpoint's cached metadefs: part of their
    cache keys, so that :func:`forget_cached` makes every entry of it stale at once."""
    return app_cache().get(_generation_key(glance))


def forget_cached(glance: GlanceClient) -> None:
    """Make the cached namespace lists and resource types of this Glance endpoint stale,
    on every instance sharing the cache (after a metadefs write)."""
    app_cache().set(_generation_key(glance), uuid.uuid4().hex, None)


# Most namespaces asked of Glance at once (its api_limit_max, 1000 by default).
LIST_LIMIT = 1000


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
    association has that target; ``filters``: ``resource_types`` (comma-separated, any
    of them) and ``visibility``.

    Every namespace the caller's ``scope`` sees (see :func:`visibility_scope`) is cached
    in full, once per scope, and each query is answered from that in the process:
    nothing the caller writes (a resource type, a target, a marker) makes a cache entry
    or a call to Glance of its own. Glance's order is kept: ``sort_key``, then
    ``created_at``, then (where Glance takes its row id) the name.
    """
    filters = filters or {}
    namespaces = _scope_namespaces(glance, scope)
    wanted = filters.get("resource_types") or resource_type
    types = set(wanted.split(",")) if wanted else None
    visibility = filters.get("visibility")
    selected = [
        namespace
        for namespace in namespaces
        if (visibility is None or namespace.get("visibility") == visibility)
        and (types is None or types & _associated(namespace))
        and not (
            resource_type
            and properties_target
            and not _targets(namespace, resource_type, properties_target)
        )
    ]

    def order(namespace: dict) -> tuple:
        return (
            namespace.get(sort_key) or "",
            namespace.get("created_at") or "",
            namespace["namespace"],
        )

    descending = page.sort_dir(sort_dir) == "desc"
    selected.sort(key=order, reverse=descending)
    if page.marker:
        marker = next((ns for ns in namespaces if ns["namespace"] == page.marker), None)
        if marker is None:  # as Glance: the marker must be a namespace the caller sees
            raise unknown_marker(page.marker, "namespace name")
        after = order(marker)
        selected = [
            ns for ns in selected if (order(ns) < after if descending else order(ns) > after)
        ]
    result = page.cut(selected[: page.fetch])
    if resource_type:
        result.items = [_prefixed(namespace, resource_type) for namespace in result.items]
    return result


def _associated(namespace: dict) -> set[str]:
    return {a.get("name") for a in namespace.get("resource_type_associations", [])}


def _prefixed(namespace: dict, resource_type: str) -> dict:
    """The namespace as Glance shows it for ``resource_type``: its property names (and
    its objects' properties and required names) with the association's prefix."""
    prefix = next(
        (
            association.get("prefix")
            for association in namespace.get("resource_type_associations", [])
            if association.get("name") == resource_type
        ),
        None,
    )
    if not prefix:
        return namespace
    shown = dict(namespace)
    if namespace.get("properties"):
        shown["properties"] = {prefix + k: v for k, v in namespace["properties"].items()}
    if namespace.get("objects"):
        shown["objects"] = [_prefixed_object(item, prefix) for item in namespace["objects"]]
    return shown


def _prefixed_object(item: dict, prefix: str) -> dict:
    shown = {**item, "properties": {prefix + k: v for k, v in item.get("properties", {}).items()}}
    if item.get("required"):
        shown["required"] = [prefix + name for name in item["required"]]
    return shown


def _scope_namespaces(glance: GlanceClient, scope: list) -> list[dict]:
    """Every namespace Glance shows ``scope``, in full and unprefixed: Glance's list,
    page by page, then each namespace fetched, concurrently; cached per scope."""

    def compute() -> list[dict]:
        names, params = [], {"limit": LIST_LIMIT, "sort_key": "namespace", "sort_dir": "asc"}
        while True:
            listed = get_json(glance, "/v2/metadefs/namespaces", params)["namespaces"]
            names += [namespace["namespace"] for namespace in listed]
            if len(listed) < LIST_LIMIT:
                break
            params = {**params, "marker": names[-1]}
        context = contextvars.copy_context()  # each fetch carries the request's id
        fetched = _pool().map(
            lambda name: context.copy().run(_namespace_or_none, glance, name, None), names
        )
        return [namespace for namespace in fetched if namespace is not None]

    endpoint = endpoint_of(glance)
    return cached(["namespaces", endpoint, _generation(glance), scope], compute)


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


def list_resource_types(
    glance: GlanceClient, scope: list, filters: dict | None = None
) -> list[dict]:
    """The metadefs resource types Glance shows ``scope`` (cached per scope: an operator
    may restrict them by policy); with ``filters``, those whose fields equal every value
    given."""
    endpoint = endpoint_of(glance)
    types = cached(
        ["resource_types", endpoint, _generation(glance), scope],
        lambda: get_json(glance, "/v2/metadefs/resource_types")["resource_types"],
    )
    filters = filters or {}
    return [t for t in types if all(t.get(k) == v for k, v in filters.items())]

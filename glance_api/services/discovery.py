"""What this Glance is and offers: its versions, import methods, stores, usage, schemas."""

from rest_framework import exceptions

from ..clients import GlanceClient, image_schema
from ..exceptions import glance_errors
from .metadefs import cached

__all__ = ["get_version", "image_schema", "import_info", "stores_info", "usage_info"]


def get_version(glance: GlanceClient) -> dict:
    """The API version in use, and the versions Glance's discovery reports.

    Returns ``{"version": "2", "current": "2.17", "supported": ["2.17", "2.16", ...]}``;
    ``supported`` lists CURRENT and SUPPORTED versions, newest first.
    """
    def fetch() -> list:
        with glance_errors():
            return [dict(v) for v in glance.versions.list() or []]

    # the same for every caller of a Glance: cached per endpoint, like namespaces
    versions = cached(["versions", glance.http_client.get_endpoint()], fetch)
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

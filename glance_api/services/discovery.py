"""What this Glance is and offers: its versions, import methods, stores, usage, schemas."""

from rest_framework import exceptions

from ..clients import GlanceClient, endpoint_of, image_schema
from ..exceptions import GlanceLacksFeature, glance_errors
from .caching import cached

__all__ = [
    "get_version",
    "image_schema",
    "import_info",
    "require_version",
    "stores_info",
    "supports_version",
    "usage_info",
]


def get_version(glance: GlanceClient) -> dict:
    """The API version in use, and the versions Glance's discovery reports.

    Returns ``{"version": "2", "current": "2.17", "supported": ["2.17", "2.16", ...]}``;
    ``supported`` lists CURRENT and SUPPORTED versions, newest first.
    """

    def fetch() -> list:
        with glance_errors():
            return [dict(v) for v in glance.versions.list() or []]

    # the same for every caller of a Glance: cached per endpoint (VERSIONS_CACHE_SECONDS)
    versions = cached([endpoint_of(glance)], fetch, kind="versions")
    usable = [v for v in versions if v.get("status") in ("CURRENT", "SUPPORTED")]
    usable.sort(key=lambda v: _version_key(v["id"]), reverse=True)
    current = next((v for v in usable if v["status"] == "CURRENT"), usable[0] if usable else None)
    return {
        "version": "2",
        "current": current["id"].lstrip("v") if current else None,
        "supported": [v["id"].lstrip("v") for v in usable],
    }


def supports_version(glance: GlanceClient, version: str, exact: bool = False) -> bool:
    """Whether this Glance endpoint offers its API at ``version`` (e.g. ``"2.17"``), as its
    versions document says (cached per endpoint): it lists that version or a newer one,
    or, with ``exact``, that very version. Glance lists some versions only where the
    feature they brought is configured: 2.14 (the cache API) where it has an image cache,
    2.8 to 2.13 (multiple stores) where it has several stores."""
    supported = get_version(glance)["supported"]
    if exact:
        return version in supported
    wanted = _version_key(version)
    return any(_version_key(v) >= wanted for v in supported)


def require_version(
    glance: GlanceClient,
    version: str,
    release: str,
    feature: str,
    exact: bool = False,
    missing: str | None = None,
) -> None:
    """Raise :class:`GlanceLacksFeature` (501) unless this Glance offers API ``version``
    (see :func:`supports_version`), which Glance has had since OpenStack ``release``;
    ``feature`` says what needs it, ``missing`` what to say when a Glance new enough
    does not list it (``exact``: a feature it lists only where it is configured)."""
    if supports_version(glance, version, exact):
        return
    newest = max(get_version(glance)["supported"], key=_version_key, default="none")
    if exact and missing and _version_key(newest) >= _version_key(version):
        raise GlanceLacksFeature(
            f"{feature} needs {missing}: this Glance does not list "
            f"API v{version}. Nothing was changed."
        )
    raise GlanceLacksFeature(
        f"{feature} needs Glance's API v{version} (Glance of OpenStack {release} or "
        f"later); this Glance offers v{newest} at most. Nothing was changed."
    )


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

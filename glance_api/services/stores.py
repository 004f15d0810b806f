"""An image's data in several stores (Glance's multiple stores): which stores there are,
uploading into one, and deleting the data from one."""

from rest_framework import exceptions

from ..clients import GlanceClient, get_json, send_json
from ..exceptions import GlanceLacksFeature, GlanceOnlyCopy
from .discovery import require_version
from .paths import segment

NO_STORES = (
    "This Glance has a single store (no enabled_backends): there is no store to "
    "choose or to see. Nothing was changed."
)


def store_ids(glance: GlanceClient) -> list[str]:
    """The ids of the stores this Glance offers; GlanceLacksFeature (501) when it has no
    multiple stores (its discovery call ``/v2/info/stores`` answers 404 then)."""
    try:
        stores = get_json(glance, "/v2/info/stores")["stores"]
    except exceptions.NotFound as exc:
        raise GlanceLacksFeature(NO_STORES) from exc
    return [store["id"] for store in stores]


def require_store(glance: GlanceClient, store: str) -> str:
    """``store``, if this Glance has a store of that id; else a 400 naming the ones it has."""
    known = store_ids(glance)
    if store not in known:
        raise exceptions.ValidationError(
            {"store": [f"No store {store!r} here; the stores are: {', '.join(known)}."]}
        )
    return store


def stores_detail(glance: GlanceClient) -> dict:
    """The stores with their type and properties (2.15; admin by Glance's policy)."""
    require_version(glance, "2.15", "2023.2 (Bobcat)", "The stores' details")
    try:
        return get_json(glance, "/v2/info/stores/detail")
    except exceptions.NotFound as exc:  # Glance's 404 where it has a single store
        raise GlanceLacksFeature(NO_STORES) from exc


def delete_from_store(glance: GlanceClient, image_id: str, store: str) -> None:
    """Delete the image's data from one store (2.10). The only copy is a 409."""
    require_version(
        glance,
        "2.10",
        "2020.1 (Ussuri)",
        "Deleting an image's data from one store",
        exact=True,
        missing="multiple stores (Glance's enabled_backends)",
    )
    path = f"/v2/stores/{segment(store, 'store')}/{segment(image_id, 'image id')}"
    try:
        send_json(glance, "DELETE", path)
    except GlanceOnlyCopy as exc:  # the error map's 409 for Glance's 403: named here
        raise GlanceOnlyCopy(
            f"The image's data is in store {store!r} only: deleting it there would "
            "leave the image without data. Delete the image instead."
        ) from exc

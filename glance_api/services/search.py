"""Images by part of their name (``GET images/?q=``): Glance matches names only whole, so
the app reads the names of the images a list would give, once for every caller of the
same project, roles and filters, and answers the pages of the matches (docs: finding).

What is read and kept: each image's id and name (Glance cannot send less than whole
images, so the largest pages it gives, ``SCAN_PAGE`` images a call), for the list's
filters and sort, at most ``SEARCH_MAX_IMAGES`` of them, kept ``SEARCH_CACHE_SECONDS``
in the app's cache (shared by the instances, filled once however many ask at once:
:func:`caching.cached`). A page's images are then read afresh, by id, in one call.
"""

import unicodedata

from ..clients import GlanceClient, endpoint_of, get_json
from ..conf import settings
from ..identifiers import is_uuid
from ..pagination import Page, PageRequest, unknown_marker
from .caching import cached
from .images import images_by_id, list_images

# Images a call asks Glance for (Glance's own api_limit_max by default: it gives no more).
SCAN_PAGE = 1000


def fold(text: str) -> str:
    """``text`` as names are compared: Unicode case folding, compatibility-normalized, so
    that "KÄSTREL" and "kästrel" (and a decomposed "ä") are the same text."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


class NameIndex:
    """The ids and folded names of the images a list gives, in its order.

    ``complete`` is False where the list has more than ``SEARCH_MAX_IMAGES`` images: then
    only the first ``SEARCH_MAX_IMAGES`` were read (and searched).
    """

    def __init__(self, ids: str, names: list[str], complete: bool):
        self.ids, self.names, self.complete = ids, names, complete  # ids: 36 characters each

    def __len__(self) -> int:
        return len(self.names)

    def id_at(self, position: int) -> str:
        return self.ids[36 * position : 36 * position + 36]

    def matches(self, needle: str) -> list[str]:
        """The ids whose folded name contains ``needle`` (folded), literally, in order."""
        return [self.id_at(i) for i, name in enumerate(self.names) if needle in name]


def name_index(
    glance: GlanceClient, scope: list, *, filters: dict, sort_key: str, sort_dir: str
) -> NameIndex:
    """The name index of a list (its filters, in its sort) as ``scope`` sees it: kept
    ``SEARCH_CACHE_SECONDS`` per Glance endpoint, scope, filters and sort."""
    key = ["image_names", endpoint_of(glance), scope, filters, sort_key, sort_dir]
    ids, names, complete = cached(
        key,
        lambda: _read_names(glance, filters, sort_key, sort_dir),
        kind="search",
    )
    return NameIndex(ids, names, complete)


def _read_names(glance: GlanceClient, filters: dict, sort_key: str, sort_dir: str) -> tuple:
    """Every image of the list, ``SCAN_PAGE`` a call, keeping id and folded name, until
    the list ends or ``SEARCH_MAX_IMAGES`` are read."""
    most = settings.SEARCH_MAX_IMAGES
    ids, names, marker = [], [], None
    while True:
        params = {**filters, "sort_key": sort_key, "sort_dir": sort_dir, "limit": SCAN_PAGE}
        if marker:
            params["marker"] = marker
        body = get_json(glance, "/v2/images", params)
        for image in body["images"]:
            if len(names) == most:
                return "".join(ids), names, False
            ids.append(image["id"])
            names.append(fold(image.get("name") or ""))
        if "next" not in body or not body["images"]:
            return "".join(ids), names, True
        marker = body["images"][-1]["id"]


def find_images(
    glance: GlanceClient, page: PageRequest, *, text: str | None, scope: list, **listing
) -> tuple[Page, dict | None]:
    """The list's page: of every image (``text`` None: Glance's list as it is, and no
    search figures), or of those whose name contains ``text`` (:func:`search_images`)."""
    if text is None:
        return list_images(glance, page, **listing), None
    return search_images(glance, page, text=text, scope=scope, **listing)


def search_images(
    glance: GlanceClient,
    page: PageRequest,
    *,
    text: str,
    scope: list,
    filters: dict,
    sort_key: str,
    sort_dir: str,
) -> tuple[Page, dict]:
    """The page of the images whose name contains ``text`` (the list's filters and
    sort, and its paging: a marker is the id of a match), and how the search went:
    ``{"images_searched": N, "complete": bool}``.

    :raises ValidationError: the marker is not the id of a match.
    """
    index = name_index(glance, scope, filters=filters, sort_key=sort_key, sort_dir=sort_dir)
    needle = fold(text)
    matches = index.matches(needle)
    if page.marker is None:
        start = len(matches) - 1 if page.reversed_order else 0
    else:
        if not is_uuid(page.marker) or page.marker not in matches:
            raise unknown_marker(page.marker, "id")
        at = matches.index(page.marker)
        start = at - 1 if page.reversed_order else at + 1
    if page.reversed_order:  # walking back: the ids before the marker, nearest first
        chosen = matches[max(0, start - page.fetch + 1) : start + 1][::-1] if start >= 0 else []
    else:
        chosen = matches[start : start + page.fetch]
    found = images_by_id(glance, chosen)
    # as Glance holds them now: one deleted or renamed since the names were read is left out
    images = [
        found[image_id]
        for image_id in chosen
        if image_id in found and needle in fold(found[image_id].get("name") or "")
    ]
    return page.cut(images), {"images_searched": len(index), "complete": index.complete}

"""Creates and imports that wait (``Prefer: wait=N``, RFC 7240) until the image is really
there: a create whose data Glance fetches (web-download) and an import
(``images/{id}/import/``: web-download, glance-direct, copy-image) answer once Glance is
done, its import failed, or the wait is over.

The create runs as it always does (the view, in a thread for its moment); the wait is
then a long-poll on the image's ``progress/``, on the machinery of
:mod:`glance_api.watch.waits` (one poll per Glance endpoint, project and image across
waiters and instances, no thread held while waiting). The answer:

- the image active (and no copy going on): 201 with the image (a create), 200 (an
  import), as ``GET images/{id}/`` renders it;
- the wait over: 202 with ``Location:`` of its ``progress/`` and the progress document;
- the import failed: 400 with Glance's reason; a create's image is deleted (nothing is
  left behind), an import's is left to its owner, who made it. A copy that failed for
  some stores is not a failed image: the image answers, ``os_glance_failed_import`` (and
  ``failed_stores`` in its progress) naming them.
"""

import copy
import json
import time

from asgiref.sync import sync_to_async
from django.http import HttpResponse, JsonResponse
from django.urls import resolve, reverse

from .. import services
from ..conf import settings
from . import waits
from .hub import hub

# the writes a client may wait on: ImageViewSet's actions
WAITABLE = frozenset({"create", "import_"})


def wanted_wait(request) -> int | None:
    """The seconds of ``Prefer: wait=N`` on a POST or PUT (a create, an import)."""
    if request.method not in ("POST", "PUT"):
        return None
    match = waits.WAIT.search(request.META.get("HTTP_PREFER", ""))
    return int(match.group(1)) if match else None


def waitable(match, method: str) -> bool:
    from ..views import ImageViewSet

    view_class = getattr(match.func, "cls", None)
    actions = getattr(match.func, "actions", None) or {}
    return (
        view_class is not None
        and issubclass(view_class, ImageViewSet)
        and actions.get(method.lower()) in WAITABLE
    )


def outcome(document: dict) -> str | None:
    """``"active"``, ``"failed"``, or None while Glance is still at it."""
    task = document.get("task") or {}
    going = task.get("status") in ("pending", "processing") or document["importing_to"]
    if document["status"] == "active" and not going:
        return "active"
    if document["status"] in ("killed", "deleted", "deactivated"):
        return "failed"
    if task.get("status") == "failure" and document["status"] != "active":
        return "failed"
    return None


def _get(request, path: str):
    """A copy of ``request`` as a plain GET of ``path`` (same identity, same host)."""
    clone = copy.copy(request)
    clone.method = "GET"
    clone.path = clone.path_info = path
    clone.META = {
        name: value
        for name, value in request.META.items()
        if name not in ("HTTP_IF_NONE_MATCH", "HTTP_PREFER", "CONTENT_TYPE", "CONTENT_LENGTH")
        and not name.startswith("HTTP_X_HTTP_METHOD")
    }
    clone.META.update(REQUEST_METHOD="GET", PATH_INFO=path, QUERY_STRING="")
    clone.META["HTTP_ACCEPT"] = "application/json"
    clone.GET = clone.GET.__class__("")
    clone.__dict__.pop("headers", None)
    return clone


def _route(request, name: str, image_id: str) -> tuple[str, object]:
    namespace = request.resolver_match.namespace
    path = reverse(f"{namespace}:{name}" if namespace else name, args=[image_id])
    return path, resolve(path, getattr(request, "urlconf", None))


def _applied(response: HttpResponse, seconds: int) -> HttpResponse:
    response["Preference-Applied"] = f"wait={seconds}"
    response["Cache-Control"] = "no-store"
    return response


async def serve(request, match, seconds: int, get_response):
    """The create (or import), then the wait for its outcome."""
    response = await get_response(request)
    if not getattr(response, "awaits_import", False):  # nothing Glance fetches: as ever
        return response
    if not response.get("Content-Type", "").startswith("application/json"):
        return response  # the browsable API's HTML: it does not wait (as its GETs)
    applied = min(seconds, settings.WATCH_MAX_WAIT)
    created = match.func.actions.get(request.method.lower()) == "create"
    image_id = json.loads(response.content)["id"]
    view_class = match.func.cls
    progress_path, progress = _route(request, "image-progress", image_id)
    progress_request = _get(request, progress_path)
    access_info = await sync_to_async(waits.authenticate, thread_sensitive=False)(
        progress_request, view_class
    )
    if access_info is None:  # (the token ended in this moment) the create's own answer
        return response
    source = waits.Source(progress_request, access_info)
    fetch = waits.fetcher(progress.func, progress.args, progress.kwargs, image_id, "progress")
    poll = hub().poll(waits.key_for(progress_request, access_info), fetch, waits.check)
    poll.join(source)
    try:
        value = await poll.current()
        deadline = time.monotonic() + applied
        while True:
            value = poll.value or value
            document = None
            if value is not None and value.data["status"] == 200:
                document = json.loads(value.data["body"])
                verdict = outcome(document)
                if verdict == "active":
                    return _applied(await _image(request, image_id, access_info, created), applied)
                if verdict == "failed":
                    return _applied(await _failed(access_info, document, created), applied)
            elif value is not None and value.data["status"] == 404:  # deleted meanwhile
                return _applied(JsonResponse(json.loads(value.data["body"]), status=404), applied)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or source in poll.refused or source.expired():
                return _applied(_under_way(request, progress_path, document, value), applied)
            await poll.wait_changed(min(remaining, source.seconds_left()))
    finally:
        poll.leave(source)


async def _image(request, image_id: str, access_info, created: bool) -> HttpResponse:
    """201 (a create) or 200 (an import) with the image as ``GET images/{id}/`` gives it."""
    path, detail = _route(request, "image-detail", image_id)
    value, _ = await sync_to_async(waits.render, thread_sensitive=False)(
        detail.func, detail.args, detail.kwargs, waits.Source(_get(request, path), access_info)
    )
    if value is None or value.data["status"] != 200:  # Glance could not answer now
        return _under_way(request, _route(request, "image-progress", image_id)[0], None, None)
    response = HttpResponse(value.data["body"], status=201 if created else 200)
    for name, header in value.data["headers"].items():
        response[name] = header
    if created:
        response["Location"] = request.build_absolute_uri(path)
    return response


def _under_way(request, progress_path: str, document: dict | None, value) -> HttpResponse:
    """202: Glance is still at it; ``Location`` says where to follow it."""
    body = document if document is not None else {"detail": "The import is under way."}
    response = JsonResponse(body, status=202)
    response["Location"] = request.build_absolute_uri(progress_path)
    if value is not None and document is not None:
        response["ETag"] = value.tag
    return response


async def _failed(access_info, document: dict, created: bool) -> JsonResponse:
    """400 with Glance's reason; a create's image is deleted."""
    task = document.get("task") or {}
    reason = (task.get("message") or document.get("stall_reason") or "").strip()
    reason = (reason or f"the image is {document['status']}").rstrip(".") + "."
    deleted = False
    if created:
        deleted = await sync_to_async(_delete, thread_sensitive=False)(access_info, document["id"])
    what = (
        "The image was deleted: nothing is left behind."
        if deleted
        else ("The image could not be deleted." if created else "The image is left as it is.")
    )
    return JsonResponse(
        {
            "detail": f"Glance's import failed: {reason} {what}",
            "code": "import_failed",
            "image_deleted": deleted,
        },
        status=400,
    )


def _delete(access_info, image_id: str) -> bool:
    return services.discard_image(services.client_for(access_info), {"id": image_id})

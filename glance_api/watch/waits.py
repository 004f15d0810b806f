"""Long-polls: ``If-None-Match`` with ``Prefer: wait=N`` (RFC 7240) on an image, its
``progress/`` and the image list, served in the event loop (no thread held while waiting).

The answer a waiter waits for is the view's own: the key's poll renders the same DRF view
(in a worker thread, for one moment) with one waiter's request, without its conditional
headers, and its ETag is the value's tag. So a wait answers exactly what a GET would, for
any query, and a waiter whose ETag is not the current one is answered at once.
"""

import copy
import hashlib
import json
import logging
import re
import time
from datetime import datetime

from asgiref.sync import sync_to_async
from django.http import HttpResponse, JsonResponse
from django.views.decorators.debug import sensitive_variables
from rest_framework import exceptions
from rest_framework.request import Request

from .. import keystone
from ..clients import glance_endpoint
from ..conf import settings
from ..dataplane.ranges import matches
from ..services.progress import SETTLED
from . import batch
from .hub import Refused, Value, hub

logger = logging.getLogger(__name__)
WAIT = re.compile(r"(?:^|[,;]\s*)wait\s*=\s*(\d{1,9})\s*(?:$|[,;])")
# the GETs a client may wait on: ImageViewSet's actions
WAITABLE = frozenset({"list", "retrieve", "progress"})
# answer headers a waiter gets as the view gave them (the rest are its own request's)
SKIPPED_HEADERS = frozenset({"content-length", "set-cookie", "x-openstack-request-id"})
UNAUTHORIZED = "The token is invalid, expired or revoked."


def wanted_wait(request) -> int | None:
    """The seconds of ``Prefer: wait=N``, when the request may be a long-poll: a GET with
    If-None-Match, for JSON (the browsable API's HTML names the signed-in user, and a
    poll's answer is shared by everyone in the project with the same roles)."""
    if request.method != "GET" or "HTTP_IF_NONE_MATCH" not in request.META:
        return None
    if "html" in request.META.get("HTTP_ACCEPT", "") or request.GET.get("format", "json") != "json":
        return None
    match = WAIT.search(request.META.get("HTTP_PREFER", ""))
    return int(match.group(1)) if match else None


def waitable(match) -> bool:
    from ..views import ImageViewSet

    view_class = getattr(match.func, "cls", None)
    actions = getattr(match.func, "actions", None) or {}
    return (
        view_class is not None
        and issubclass(view_class, ImageViewSet)
        and actions.get("get") in WAITABLE
    )


class Source:
    """One waiter's request and identity: what a poll may be made with."""

    __slots__ = ("request", "access_info", "token")

    def __init__(self, request, access_info):
        self.request, self.access_info = request, access_info
        self.token = access_info.auth_token

    def expired(self) -> bool:
        return self.access_info.will_expire_soon(stale_duration=0)

    def seconds_left(self) -> float:
        """Until the token expires (at least a moment: expired() tells after)."""
        expires = self.access_info.expires
        return max(0.05, (expires - datetime.now(expires.tzinfo)).total_seconds())


def authenticate(request, view_class):
    """The caller's token (AccessInfo) by the view's own authentication, or None (the
    view then answers as it would: a 401)."""
    drf_request = Request(
        request, authenticators=[auth() for auth in view_class.authentication_classes]
    )
    try:
        drf_request.user  # noqa: B018 - authenticates
    except exceptions.APIException:
        return None
    return drf_request.auth if hasattr(drf_request.auth, "auth_token") else None


def key_for(request, access_info) -> str:
    """The poll a request shares: its Glance endpoint, project, roles and query, and
    what shapes the answer (host, path, Accept)."""
    endpoint = settings.GLANCE_URL or glance_endpoint(access_info)
    parts = [
        endpoint,
        access_info.project_id,
        sorted(access_info.role_names),
        request.get_host(),
        request.path,
        sorted(request.GET.lists()),
        request.META.get("HTTP_ACCEPT", ""),
    ]
    return "wait:" + hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:40]


def _unconditional(request):
    """A copy of the request without If-None-Match and Prefer: what the view renders."""
    clone = copy.copy(request)
    clone.META = {
        name: value
        for name, value in request.META.items()
        if name not in ("HTTP_IF_NONE_MATCH", "HTTP_PREFER")
    }
    clone.__dict__.pop("headers", None)  # a cached_property of the original's META
    return clone


def render(view, args, kwargs, source: Source) -> tuple[Value | None, bool]:
    """The view's answer for ``source`` as a value; (None, True) when the token is
    refused, (None, False) when Glance could not answer (no change to report)."""
    response = view(_unconditional(source.request), *args, **kwargs)
    if hasattr(response, "render"):
        response.render()
    if response.status_code == 401:
        return None, True
    if response.status_code >= 500:
        logger.info("A poll for waiters got %s: they go on waiting", response.status_code)
        return None, False
    body = response.content.decode("utf-8", "replace")
    tag = response.get("ETag") or (
        f'"{response.status_code}-{hashlib.sha256(response.content).hexdigest()[:32]}"'
    )
    kept = {name: value for name, value in response.items() if name.lower() not in SKIPPED_HEADERS}
    return Value(tag, {"status": response.status_code, "headers": kept, "body": body}), False


def fetcher(view, args, kwargs, image_id: str | None, action: str):
    """How a wait's poll gets its answer: the view, rendered, unless the project's list
    of watched images (``batch``) shows the image as it was at the last answer."""

    async def fetch(source: Source, previous: Value | None):
        listed = batch.tag_of(source.access_info, image_id) if image_id else None
        if previous is not None and listed is not None and _still(previous, listed, action):
            return Value(previous.tag, previous.data)  # unchanged: no call of its own
        if image_id and previous is not None and listed is None:
            # the project's list has not got to the image yet (it came a moment ago):
            # the last answer, for at most a round and a half
            if time.time() - previous.at < settings.WATCH_POLL_SECONDS * 1.5:
                return previous
        value, refused = await sync_to_async(render, thread_sensitive=False)(
            view, args, kwargs, source
        )
        if refused:
            raise Refused()
        if value is not None and listed is not None and _agrees(value, listed, action):
            value.data["image"] = listed  # the next rounds may reuse it
        return value

    return fetch


def _still(previous: Value, listed: str, action: str) -> bool:
    """Whether the last answer is still the answer, as the project's list shows the image."""
    if previous.data.get("image") == listed:
        return True
    # a detail's ETag is the image's own: it tells at once
    return action == "retrieve" and _agrees(previous, listed, action)


def _agrees(value: Value, listed: str, action: str) -> bool:
    """Whether the answer is of the image as it was listed (then, while the list shows the
    same, so is the answer): a detail's ETag is the image's; a progress document is only
    while the image is not under way (a task's progress shows nowhere in the image)."""
    status = value.data["status"]
    if listed == batch.GONE:
        return status == 404
    if action == "retrieve":
        return status == 200 and value.tag == listed
    if action == "progress" and status == 200:
        document = json.loads(value.data["body"])
        return document["status"] in SETTLED and not document["importing_to"]
    return False


async def check(sources: list[Source]) -> list[Source]:
    return await sync_to_async(check_tokens, thread_sensitive=False)(sources)


@sensitive_variables()
def check_tokens(sources: list[Source]) -> list[Source]:
    """The sources whose token Keystone (or the cache, or a mark) now refuses: each token
    asked about once, however many wait with it."""
    by_token: dict[str, list[Source]] = {}
    for source in sources:
        by_token.setdefault(source.token, []).append(source)
    refused = []
    for token, holders in by_token.items():
        try:
            keystone.validate_token(token)
        except exceptions.AuthenticationFailed:
            refused.extend(holders)
        except exceptions.APIException:  # Keystone cannot answer: no verdict this round
            pass
    return refused


def _answer(value: Value, applied: int) -> HttpResponse:
    response = HttpResponse(value.data["body"], status=value.data["status"])
    for name, header in value.data["headers"].items():
        response[name] = header
    response["Preference-Applied"] = f"wait={applied}"
    return response


def _not_modified(tag: str, applied: int) -> HttpResponse:
    response = HttpResponse(status=304)
    response["ETag"] = tag
    response["Preference-Applied"] = f"wait={applied}"
    response["Cache-Control"] = "no-store"
    return response


def _unauthorized(view_class) -> HttpResponse:
    response = JsonResponse({"detail": UNAUTHORIZED, "code": "authentication_failed"}, status=401)
    header = view_class.authentication_classes[0]().authenticate_header(None)
    if header:
        response["WWW-Authenticate"] = header
    response["Cache-Control"] = "no-store"
    return response


async def serve(request, match, seconds: int, get_response):
    """Serves one long-poll; what is not one (no token, ...) goes on to ``get_response``."""
    view_class = match.func.cls
    access_info = await sync_to_async(authenticate, thread_sensitive=False)(request, view_class)
    if access_info is None:
        return await get_response(request)
    applied = min(seconds, settings.WATCH_MAX_WAIT)
    source = Source(request, access_info)
    action = match.func.actions.get("get")
    image_id = match.kwargs.get("pk") if action in ("retrieve", "progress") else None
    fetch = fetcher(match.func, match.args, match.kwargs, image_id, action)
    poll = hub().poll(key_for(request, access_info), fetch, check)
    images = batch.images_poll(access_info) if image_id else None
    if images is not None:
        images.watch(image_id)
        images.join(source)
    poll.join(source)
    try:
        value = await poll.current()
        if value is None:  # Glance could not answer: as a GET would answer now
            return await get_response(request)
        sent = request.META["HTTP_IF_NONE_MATCH"]
        deadline = time.monotonic() + applied
        while True:
            if source in poll.refused or source.expired():
                return _unauthorized(view_class)
            value = poll.value or value
            if not matches(sent, value.tag):
                return _answer(value, applied)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return _not_modified(value.tag, applied)
            # woken by a change, a refusal (a round's token check), or the token's expiry
            await poll.wait_changed(min(remaining, source.seconds_left()))
    finally:
        poll.leave(source)
        if images is not None:
            images.unwatch(image_id)
            images.leave(source)

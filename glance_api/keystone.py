"""Keystone: token validation (cached), sign-in and sign-out, on the process's pooled session.

No service account is needed: Keystone lets a token validate and revoke itself.
Tokens are never logged; cache keys hold a hash of the token, not the token.
"""

import enum
import hashlib
import logging
import threading
import time
from datetime import UTC, datetime

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.views.decorators.debug import sensitive_variables
from keystoneauth1 import access
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from rest_framework import exceptions

from . import requestlog
from .cache import TolerantCache
from .clients import access_body, access_from_body, shared_session
from .conf import settings
from .exceptions import (
    RETRY_AFTER_SECONDS,
    UPSTREAM_EXCEPTIONS,
    BadGateway,
    GatewayTimeout,
    ServiceUnavailable,
    upstream_errors,
)

logger = logging.getLogger(__name__)

MAX_TOKEN_LENGTH = 8192


@sensitive_variables()
def _cache_key(token: str) -> str:
    return "glance_api:token:" + hashlib.sha256(token.encode()).hexdigest()


def cache_seconds(expires: datetime, now: datetime, configured: int) -> int:
    """How long a validation may be cached: the configured time, never past expiry."""
    return max(0, min(configured, int((expires - now).total_seconds())))


class _LocalValidations:
    """This process's own copy of recent validations, in front of Django's cache.

    A shared cache (file, Redis, memcached) costs a read and an unpickling per request;
    this costs a dict lookup. Entries live no longer than the shared ones (the configured
    time, never past the token's expiry); the oldest go first beyond ``size``.
    """

    def __init__(self, size: int = 1024):
        self.size, self.entries, self.lock = size, {}, threading.Lock()

    def get(self, key: str) -> access.AccessInfoV3 | None:
        entry = self.get_entry(key)
        return entry[0] if entry else None

    def get_entry(self, key: str) -> tuple[access.AccessInfoV3, float] | None:
        """The validation, and when Keystone gave it (``time.time()``)."""
        entry = self.entries.get(key)
        if entry is None:
            return None
        deadline, access_info, fetched_at = entry
        if time.monotonic() >= deadline:
            self.entries.pop(key, None)
            return None
        return access_info, fetched_at

    def set(
        self,
        key: str,
        access_info: access.AccessInfoV3,
        seconds: int,
        fetched_at: float | None = None,
    ) -> None:
        with self.lock:
            while len(self.entries) >= self.size:
                self.entries.pop(next(iter(self.entries)), None)
            self.entries[key] = (
                time.monotonic() + seconds,
                access_info,
                time.time() if fetched_at is None else fetched_at,
            )

    def delete(self, key: str) -> None:
        self.entries.pop(key, None)

    def clear(self) -> None:
        self.entries.clear()


local_validations = _LocalValidations()


def _remember(access_info: access.AccessInfoV3, fetched_at: float | None = None) -> None:
    """Keep a validation Keystone gave at ``fetched_at`` (``time.time()``; now if None).

    It is kept with that time: a mark that forgets the token (see :func:`forget_token`)
    made after it voids it, wherever it is kept, and is never removed here. (A validation
    that was on its way when the token was forgotten, by a sign-out in another process,
    say, is then not kept again over the mark.)
    """
    fetched_at = time.time() if fetched_at is None else fetched_at
    now = datetime.now(UTC)
    ttl = cache_seconds(access_info.expires, now, settings.TOKEN_CACHE_SECONDS)
    if ttl > 0:
        key = _cache_key(access_info.auth_token)
        cache, _ = _shared_cache()
        # kept longer than it is fresh: for while Keystone cannot answer (validate_token)
        kept = cache_seconds(
            access_info.expires, now, settings.TOKEN_CACHE_SECONDS + settings.TOKEN_STALE_SECONDS
        )
        cache.set(key, {"body": access_body(access_info), "at": fetched_at}, kept)
        local_validations.set(key, access_info, ttl, fetched_at)


def _forgotten_key(key: str) -> str:
    return key.replace(":token:", ":forgotten:", 1)


def _shared_cache():
    """The cache, and whether other processes share it (a local-memory cache they do not:
    each process then forgets for itself)."""
    cache = caches[settings.CACHE_ALIAS]
    return TolerantCache(cache), not isinstance(cache, LocMemCache)


@sensitive_variables()
def forget_token(token: str, refused: bool = False) -> None:
    """Drop the token's cached validation, so that it is validated by Keystone again on
    its next use, in every process: the shared entry goes, and a mark in the shared cache
    (the time it was made) voids every copy made before it, the other processes' own
    included (which live no longer than the mark).

    ``refused``: Keystone refused the token. The mark says so, and for as long as it lives
    (``TOKEN_CACHE_SECONDS``) the token is refused without asking Keystone again: a token
    Keystone refused never becomes valid, and a caller repeating a bad token costs one
    Keystone call, not one per request.
    """
    key = _cache_key(token)
    cache, shared = _shared_cache()
    cache.delete(key)
    local_validations.delete(key)
    if (shared or refused) and settings.TOKEN_CACHE_SECONDS > 0:
        cache.set(
            _forgotten_key(key),
            {"at": time.time(), "refused": refused},
            settings.TOKEN_CACHE_SECONDS,
        )


def _voids(mark, fetched_at: float) -> bool:
    """Whether a forgetting mark voids a validation Keystone gave at ``fetched_at``."""
    return isinstance(mark, dict) and mark.get("at", 0) >= fetched_at


def _token_url() -> str:
    return settings.KEYSTONE_URL.rstrip("/") + "/auth/tokens"


@sensitive_variables()
def _self_headers(token: str) -> dict[str, str]:
    return {"X-Auth-Token": token, "X-Subject-Token": token}


class _Source(enum.Enum):
    """Where a validation comes from, which says where it is kept next."""

    KEYSTONE = "Keystone, now: kept in the shared cache and this process's"
    SHARED = "the shared cache, within its life: kept in this process's too"
    STALE = "the shared cache past its life, as Keystone could not answer: kept nowhere"


@sensitive_variables()
def validate_token(token: str) -> access.AccessInfoV3:
    """The token's identity, scope and catalog, from the cache or from Keystone.

    :raises AuthenticationFailed: the token is malformed, unknown, expired, revoked
        or not scoped to a project.
    :raises ServiceUnavailable, GatewayTimeout, BadGateway: Keystone could not answer.
    """
    if not (len(token) <= MAX_TOKEN_LENGTH and token.isascii() and token.isprintable()) or (
        " " in token
    ):
        raise exceptions.AuthenticationFailed("The token is malformed.")
    key = _cache_key(token)
    cache, shared = _shared_cache()
    if settings.TOKEN_CACHE_SECONDS > 0:
        # A local entry never outlives the token (see _remember): no expiry check here.
        known = local_validations.get_entry(key)
        if known is not None:
            if not (shared and _voids(cache.get(_forgotten_key(key)), known[1])):
                return known[0]
            local_validations.delete(key)  # another process forgot it (a logout, a 401)
    kept = cache.get_many([key, _forgotten_key(key)]) if settings.TOKEN_CACHE_SECONDS else {}
    entry, mark = kept.get(key), kept.get(_forgotten_key(key))
    if isinstance(mark, dict) and mark.get("refused"):
        raise exceptions.AuthenticationFailed(_INVALID_TOKEN.detail)  # refused a moment ago
    if not (isinstance(entry, dict) and "body" in entry) or _voids(mark, entry["at"]):
        entry = None
    if entry is None or time.time() - entry["at"] >= settings.TOKEN_CACHE_SECONDS:
        source, fetched_at = _Source.KEYSTONE, time.time()
        try:
            body = _fetch_token(token, stale=entry)
        except exceptions.AuthenticationFailed:
            # other processes may still hold it: they drop it too
            forget_token(token, refused=True)
            raise
        if body is entry:  # Keystone could not answer: the validation it gave before
            source, body, fetched_at = _Source.STALE, entry["body"], entry["at"]
    else:
        source, body, fetched_at = _Source.SHARED, entry["body"], entry["at"]
    access_info = access_from_body(body, token)
    if access_info.will_expire_soon(stale_duration=0):
        forget_token(token)
        raise exceptions.AuthenticationFailed("The token has expired.")
    if not access_info.project_scoped:
        raise exceptions.AuthenticationFailed("The token is not scoped to a project.")
    if source is _Source.KEYSTONE:
        _remember(access_info, fetched_at)
    elif source is _Source.SHARED and settings.TOKEN_CACHE_SECONDS > 0:  # a local copy
        local_validations.set(
            _cache_key(token),
            access_info,
            cache_seconds(access_info.expires, datetime.now(UTC), settings.TOKEN_CACHE_SECONDS),
            fetched_at,
        )
    return access_info


_INVALID_TOKEN = exceptions.AuthenticationFailed("The token is invalid, expired or revoked.")
# Keystone's policy lets a token validate itself (identity:validate_token, token_subject):
# a 403 to that is Keystone's own failure (a policy changed from its default, or not yet
# loaded as Keystone starts), not the caller's lack of a permission.
_POLICY_REFUSED = BadGateway(
    "Keystone refused to let the token validate itself (its policy for "
    "identity:validate_token); this API needs Keystone's default, which allows it."
)

# Until when (time.monotonic()) this process takes stale validations without asking
# Keystone, after Keystone failed to answer: a Keystone that hangs costs one TIMEOUT per
# RETRY_AFTER_SECONDS, not one per request.
_keystone_failed = {"until": 0.0}


@sensitive_variables()
def _fetch_token(token: str, stale: dict | None = None) -> dict:
    """Keystone's validation of the token; where Keystone cannot answer (unreachable,
    timing out, failing) and ``stale`` (a validation it gave within TOKEN_STALE_SECONDS
    before it went stale) is given, ``stale`` itself."""
    if stale is not None and time.monotonic() < _keystone_failed["until"]:
        return stale
    requestlog.count_keystone_call()
    refused = {401: _INVALID_TOKEN, 404: _INVALID_TOKEN, 403: _POLICY_REFUSED}
    try:
        with upstream_errors("Keystone", overrides=refused):
            response = shared_session().get(
                _token_url(), headers=_self_headers(token), authenticated=False
            )
    except (ServiceUnavailable, GatewayTimeout, BadGateway) as exc:
        if exc is _POLICY_REFUSED:
            logger.warning(
                "Keystone answered 403 to a token's validation of itself: its policy for "
                "identity:validate_token must allow rule:token_subject (its default)"
            )
        if stale is None:
            raise
        _keystone_failed["until"] = time.monotonic() + RETRY_AFTER_SECONDS
        logger.warning(
            "Keystone could not validate a token: taking its validation of %d s ago",
            time.time() - stale["at"],
        )
        return stale
    return response.json()


@sensitive_variables()
def recheck_token(token: str) -> None:
    """Glance refused a token this app had taken: ask Keystone itself, uncached.

    Glance's keystonemiddleware answers 401 both to a token Keystone refuses and, as
    Glance configures it (``delay_auth_decision``), to any token while it cannot reach
    Keystone to validate it. So: a token Keystone refuses (or that has expired) is a 401
    and forgotten everywhere; one Keystone still takes is a 503 with Retry-After (Glance
    could not check it; the token is good), as is Keystone failing to answer.
    """
    try:
        body = _fetch_token(token)
    except exceptions.AuthenticationFailed:
        forget_token(token, refused=True)
        raise
    access_info = access_from_body(body, token)
    if access_info.will_expire_soon(stale_duration=0):
        forget_token(token)
        raise exceptions.AuthenticationFailed("The token has expired.")
    _remember(access_info)
    raise ServiceUnavailable(
        "Glance could not validate the token (it may not reach Keystone "
        "for now); the token is valid: try again shortly."
    )


@sensitive_variables()
def password_login(
    username: str, password: str, project: str | None, domain: str
) -> access.AccessInfoV3 | None:
    """Sign in with Keystone; ``None`` if the credentials are wrong.

    Without a project the token is scoped to the user's default project, or else to
    the first project the user has a role in. Finding that project takes an unscoped
    token; it is revoked, and the scoped token is asked for with the password again (a
    token made from the unscoped one would be revoked with it: Keystone revokes the
    whole chain).

    :raises ServiceUnavailable, GatewayTimeout, BadGateway: Keystone could not answer.
    """

    def sign_in(**scope) -> access.AccessInfoV3:
        return v3.Password(
            auth_url=settings.KEYSTONE_URL,
            username=username,
            password=password,
            user_domain_name=domain,
            **scope,
        ).get_access(session)

    session = shared_session()
    try:
        with upstream_errors("Keystone"):
            if project:
                access_info = sign_in(project_name=project, project_domain_name=domain)
            else:
                access_info = sign_in()
                if not access_info.project_scoped:
                    project_id = _first_project(access_info, session)
                    access_info = sign_in(project_id=project_id) if project_id else None
    except exceptions.APIException as exc:
        if exc.status_code in (400, 401, 404):  # wrong credentials, user or project
            return None
        raise
    if access_info is not None:
        _remember(access_info)
    return access_info


@sensitive_variables()
def _first_project(unscoped: access.AccessInfoV3, session: ks_session.Session) -> str | None:
    """The first enabled project the user has a role in; the unscoped token is revoked."""
    try:
        response = session.get(
            settings.KEYSTONE_URL.rstrip("/") + "/auth/projects",
            headers={"X-Auth-Token": unscoped.auth_token},
            authenticated=False,
        )
        projects = [p for p in response.json()["projects"] if p.get("enabled")]
    finally:  # the unscoped token served only to find the project
        revoke_token(unscoped.auth_token)
    return projects[0]["id"] if projects else None


@sensitive_variables()
def revoke_token(token: str) -> None:
    """Revoke a token in Keystone, as signing out should; failures are only logged.

    Keystone first, then the caches: a validation made in between (by another process)
    is older than the mark that forgets the token, so it is not served again."""
    try:
        shared_session().delete(
            _token_url(), headers=_self_headers(token), authenticated=False, raise_exc=False
        )
    except UPSTREAM_EXCEPTIONS as exc:  # signing out goes on: the session is gone anyway
        logger.warning("Could not revoke a token on sign-out: %s", type(exc).__name__)
    forget_token(token)

"""Keystone: the process's pooled session, token validation (cached), sign-in and sign-out.

No service account is needed: Keystone lets a token validate and revoke itself.
Tokens are never logged; cache keys hold a hash of the token, not the token.
"""

import hashlib
import logging
import threading
import time
from datetime import datetime, timezone

import requests
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry
from django.core.cache import caches
from keystoneauth1 import access
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from rest_framework import exceptions

from .conf import settings
from .exceptions import BadGateway, transport_error

logger = logging.getLogger(__name__)

MAX_TOKEN_LENGTH = 8192
# A pooled connection the server closed while idle (gunicorn's keep-alive is 2 s) fails
# on its next use before any answer: try once more on a new connection. Only methods
# without a body, so an upload stream is never sent twice.
class _StaleConnectionRetry(Retry):
    """urllib3's Retry, except that a read timeout is final (waiting twice helps no one)."""

    def increment(self, *args, error=None, **kwargs):
        if isinstance(error, ReadTimeoutError):
            raise error
        return super().increment(*args, error=error, **kwargs)


STALE_CONNECTION_RETRY = _StaleConnectionRetry(
    total=1, connect=1, read=1, status=0, other=0, redirect=0,
    allowed_methods=frozenset({"GET", "HEAD", "DELETE"}), raise_on_status=False,
)
_session_lock = threading.Lock()
_session: ks_session.Session | None = None
_session_options: tuple | None = None


def shared_session() -> ks_session.Session:
    """The process's keystoneauth session: pooled connections, no auth plugin of its own.

    Callers pass their own ``auth`` per request (see ``services.client_for``), so one
    pool of HTTP connections serves every caller. Rebuilt if the TLS, timeout, pool or
    environment settings change.
    """
    global _session, _session_options
    options = (settings.verify, settings.TIMEOUT, settings.POOL_MAXSIZE, settings.TRUST_ENV)
    with _session_lock:
        if _session is None or options != _session_options:
            http = requests.Session()
            http.trust_env = settings.TRUST_ENV
            adapter = requests.adapters.HTTPAdapter(
                pool_maxsize=settings.POOL_MAXSIZE, max_retries=STALE_CONNECTION_RETRY
            )
            http.mount("http://", adapter)
            http.mount("https://", adapter)
            _session = ks_session.Session(
                session=http, verify=settings.verify, timeout=settings.TIMEOUT
            )
            _session_options = options
        return _session


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
        entry = self.entries.get(key)
        if entry is None:
            return None
        deadline, access_info = entry
        if time.monotonic() >= deadline:
            self.entries.pop(key, None)
            return None
        return access_info

    def set(self, key: str, access_info: access.AccessInfoV3, seconds: int) -> None:
        with self.lock:
            while len(self.entries) >= self.size:
                self.entries.pop(next(iter(self.entries)), None)
            self.entries[key] = (time.monotonic() + seconds, access_info)

    def delete(self, key: str) -> None:
        self.entries.pop(key, None)

    def clear(self) -> None:
        self.entries.clear()


local_validations = _LocalValidations()


def _remember(access_info: access.AccessInfoV3) -> None:
    ttl = cache_seconds(
        access_info.expires, datetime.now(timezone.utc), settings.TOKEN_CACHE_SECONDS
    )
    if ttl > 0:
        key = _cache_key(access_info.auth_token)
        caches[settings.CACHE_ALIAS].set(key, access_info._data, ttl)
        local_validations.set(key, access_info, ttl)


def _forget(token: str) -> None:
    caches[settings.CACHE_ALIAS].delete(_cache_key(token))
    local_validations.delete(_cache_key(token))


def _token_url() -> str:
    return settings.KEYSTONE_URL.rstrip("/") + "/auth/tokens"


def _self_headers(token: str) -> dict[str, str]:
    return {"X-Auth-Token": token, "X-Subject-Token": token}


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
    if settings.TOKEN_CACHE_SECONDS > 0:
        # A local entry never outlives the token (see _remember), so no expiry check
        # here: parsing the token's expiry again was a tenth of a request's own time.
        known = local_validations.get(_cache_key(token))
        if known is not None:
            return known
    body = caches[settings.CACHE_ALIAS].get(_cache_key(token))
    fetched = body is None
    if fetched:
        body = _fetch_token(token)
    access_info = access.create(body=body, auth_token=token)
    if access_info.will_expire_soon(stale_duration=0):
        _forget(token)
        raise exceptions.AuthenticationFailed("The token has expired.")
    if not access_info.project_scoped:
        raise exceptions.AuthenticationFailed("The token is not scoped to a project.")
    if fetched:
        _remember(access_info)
    elif settings.TOKEN_CACHE_SECONDS > 0:  # from the shared cache: keep a local copy
        local_validations.set(_cache_key(token), access_info, cache_seconds(
            access_info.expires, datetime.now(timezone.utc), settings.TOKEN_CACHE_SECONDS))
    return access_info


def _fetch_token(token: str) -> dict:
    try:
        response = shared_session().get(
            _token_url(), headers=_self_headers(token), authenticated=False, raise_exc=False
        )
    except ksa_exc.ClientException as exc:
        raise transport_error(exc, "Keystone") from exc
    if response.status_code in (401, 404):
        raise exceptions.AuthenticationFailed("The token is invalid, expired or revoked.")
    if response.status_code != 200:
        logger.warning("Keystone answered %s to a token validation", response.status_code)
        raise BadGateway("Keystone failed to validate the token.")
    return response.json()


def password_login(
    username: str, password: str, project: str | None, domain: str
) -> access.AccessInfoV3 | None:
    """Sign in with Keystone; ``None`` if the credentials are wrong.

    Without a project the token is scoped to the user's default project, or else to
    the first project the user has a role in.

    :raises ServiceUnavailable, GatewayTimeout, BadGateway: Keystone could not answer.
    """
    plugin = v3.Password(
        auth_url=settings.KEYSTONE_URL,
        username=username,
        password=password,
        user_domain_name=domain,
        project_name=project or None,
        project_domain_name=domain if project else None,
    )
    session = shared_session()
    try:
        access_info = plugin.get_access(session)
        if not access_info.project_scoped:
            access_info = _scope_to_first_project(access_info, session)
    except (ksa_exc.Unauthorized, ksa_exc.NotFound, ksa_exc.BadRequest):
        return None
    except ksa_exc.HttpError as exc:
        logger.warning("Keystone answered %s to a sign-in", exc.http_status)
        raise BadGateway("Keystone failed to sign the user in.") from exc
    except ksa_exc.ClientException as exc:
        raise transport_error(exc, "Keystone") from exc
    if access_info is not None:
        _remember(access_info)
    return access_info


def _scope_to_first_project(
    unscoped: access.AccessInfoV3, session: ks_session.Session
) -> access.AccessInfoV3 | None:
    response = session.get(
        settings.KEYSTONE_URL.rstrip("/") + "/auth/projects",
        headers={"X-Auth-Token": unscoped.auth_token},
        authenticated=False,
    )
    projects = [project for project in response.json()["projects"] if project.get("enabled")]
    if not projects:
        return None
    plugin = v3.Token(
        auth_url=settings.KEYSTONE_URL, token=unscoped.auth_token, project_id=projects[0]["id"]
    )
    return plugin.get_access(session)


def revoke_token(token: str) -> None:
    """Revoke a token in Keystone, as signing out should; failures are only logged."""
    _forget(token)
    try:
        shared_session().delete(
            _token_url(), headers=_self_headers(token), authenticated=False, raise_exc=False
        )
    except ksa_exc.ClientException as exc:
        logger.warning("Could not revoke a token on sign-out: %s", type(exc).__name__)

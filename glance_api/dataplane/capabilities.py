"""Upload URLs: capabilities to PUT one image's bytes once, without a token or CSRF header.

``file-direct`` creates an image and answers with such a URL, so that a browser (the
dashboard's direct upload) can send the bytes to this API with no Keystone token of its
own. The URL holds only an unguessable secret; the caller's token and the image id stay
server side, in the cache, under a hash of the secret, for ``UPLOAD_URL_SECONDS``. Redeeming
it removes it: a second use, an altered or an expired URL finds nothing.

The token is kept encrypted (Fernet, from ``cryptography``) with a key derived from the
secret, which only the URL holds: the cache (a shared Redis, say) alone does not give the
token away.
"""

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken
from django.urls import reverse
from django.views.decorators.debug import sensitive_variables

from ..cache import app_cache
from ..conf import settings

PREFIX = "glance_api:upload:"


@sensitive_variables()
def _key(secret: str) -> str:
    return PREFIX + hashlib.sha256(secret.encode()).hexdigest()


@sensitive_variables()
def _fernet(secret: str) -> Fernet:
    """The cipher of a grant's token: a key derived from the secret, apart from its key
    in the cache (a hash of the secret alone)."""
    key = hashlib.blake2b(secret.encode(), key=b"glance_api upload grant", digest_size=32)
    return Fernet(base64.urlsafe_b64encode(key.digest()))


@sensitive_variables()
def upload_url(request, image_id: str) -> str:
    """A one-time URL of this API that takes the image's data without a token, for the
    caller of ``request`` (DRF's: its ``auth`` is the token)."""
    secret = issue(request.auth.auth_token, request.auth.user_id, image_id)
    namespace = request.resolver_match.namespace
    return request.build_absolute_uri(
        reverse(f"{namespace}:upload" if namespace else "upload", args=[secret])
    )


@sensitive_variables()
def issue(token: str, user_id: str, image_id: str) -> str:
    """A new secret for one upload of ``image_id`` by the holder of ``token``."""
    secret = secrets.token_urlsafe(32)
    app_cache().set(
        _key(secret),
        {
            "sealed_token": _fernet(secret).encrypt(token.encode()).decode(),
            "user_id": user_id,
            "image_id": image_id,
        },
        settings.UPLOAD_URL_SECONDS,
    )
    return secret


@sensitive_variables()
def peek(secret: str) -> dict | None:
    """The grant as the cache holds it (its ``user_id`` says whose upload it is), leaving
    it unused; None if unknown, used or expired. Writes nothing."""
    grant = app_cache().get(_key(secret))
    return grant if isinstance(grant, dict) and "user_id" in grant else None


@sensitive_variables()
def redeem(secret: str, held: dict | None = None) -> dict | None:
    """What the secret grants (token, user id, image id), once; None if unknown, used or
    expired. ``held``: the grant :func:`peek` read for this secret, not read again."""
    cache = app_cache()
    key = _key(secret)
    grant = cache.get(key) if held is None else held
    # Nothing is written for an unknown secret (guesses cannot fill the cache), and of two
    # requests with the same secret only the one whose delete removed the grant has it.
    if grant is None or not cache.delete(key):
        return None
    return unseal(secret, grant)


@sensitive_variables()
def unseal(secret: str, held: dict) -> dict | None:
    """What a grant :func:`peek` read holds (token, user id, image id), leaving it usable;
    None if it is not a grant this code wrote."""
    try:
        token = _fernet(secret).decrypt(held["sealed_token"].encode()).decode()
    except (InvalidToken, KeyError, TypeError, AttributeError):
        return None
    return {"token": token, "user_id": held["user_id"], "image_id": held["image_id"]}

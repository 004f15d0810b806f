"""Upload URLs: capabilities to PUT one image's bytes once, without a token or CSRF header.

``file-direct`` creates an image and answers with such a URL, so that a browser (the
dashboard's direct upload) can send the bytes to this API with no Keystone token of its
own. The URL holds only an unguessable secret; the caller's token and the image id stay
server side, in the cache, under a hash of the secret, for ``UPLOAD_URL_SECONDS``. Redeeming
it removes it: a second use, an altered or an expired URL finds nothing.
"""

import hashlib
import secrets

from django.views.decorators.debug import sensitive_variables

from .cache import app_cache
from .conf import settings

PREFIX = "glance_api:upload:"


def _key(secret: str) -> str:
    return PREFIX + hashlib.sha256(secret.encode()).hexdigest()


@sensitive_variables()
def issue(token: str, user_id: str, image_id: str) -> str:
    """A new secret for one upload of ``image_id`` by the holder of ``token``."""
    secret = secrets.token_urlsafe(32)
    app_cache().set(
        _key(secret), {"token": token, "user_id": user_id, "image_id": image_id},
        settings.UPLOAD_URL_SECONDS,
    )
    return secret


@sensitive_variables()
def redeem(secret: str) -> dict | None:
    """What the secret grants (token, user id, image id), once; None if unknown, used or
    expired."""
    cache = app_cache()
    key = _key(secret)
    if not cache.add(key + ":used", True, settings.UPLOAD_URL_SECONDS):
        return None  # redeemed already, by this request's twin
    grant = cache.get(key)
    cache.delete(key)
    return grant

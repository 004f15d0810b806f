"""Uploads checked end to end (``Content-Digest``/``Repr-Digest``, RFC 9530): which hash
the Glance endpoint keeps, the digests a request sends, and what becomes of data that
does not match them (:mod:`glance_api.dataplane.digests` parses and compares)."""

import hashlib
import logging
from dataclasses import dataclass, field

from django.views.decorators.debug import sensitive_variables
from rest_framework import exceptions

from ..cache import app_cache
from ..clients import GlanceClient, endpoint_of, get_json
from ..conf import settings
from ..dataplane import digests
from .images import delete_image, get_image, update_image

logger = logging.getLogger(__name__)

# Glance's default hashing_algorithm ([DEFAULT] in glance-api.conf)
GLANCE_DEFAULT_ALGO = "sha512"


def _algo_key(glance: GlanceClient) -> str:
    endpoint = endpoint_of(glance)
    return "glance_api:hash_algo:v1:" + hashlib.sha256(endpoint.encode()).hexdigest()[:32]


def endpoint_hash_algo(glance: GlanceClient) -> tuple[str, bool]:
    """The hash the Glance endpoint keeps as ``os_hash_algo`` (its ``hashing_algorithm``,
    which no discovery call tells), and whether it is known: that of the newest active
    image the caller can list (or of the last upload checked), kept per endpoint as long
    as the versions document. Glance's default, not known, while no image tells."""
    key = _algo_key(glance)
    cache = app_cache()
    algo = cache.get(key)
    if algo is None:
        listed = get_json(glance, "/v2/images", {"status": "active", "limit": 1})["images"]
        algo = next((i["os_hash_algo"] for i in listed if i.get("os_hash_algo")), None)
        if algo is None:
            return GLANCE_DEFAULT_ALGO, False
        cache.set(key, algo, settings.VERSIONS_CACHE_SECONDS)
    return algo, True


@dataclass
class Requested:
    """The digests an upload sends (``{algorithm: digest}``), and the hashes the app
    computes of its bytes as it streams them: the algorithms sent that the endpoint does
    not keep (none where it is known to keep sha512, Glance's default), every one while
    the endpoint's algorithm is not known."""

    digests: dict[str, bytes]
    hashers: dict = field(default_factory=dict)


@sensitive_variables()
def requested_digests(glance: GlanceClient, headers) -> Requested | None:
    """What an upload's headers send (None without a digest field, and no call); a 400
    naming the supported algorithms for a field the API cannot check."""
    if not digests.sent(headers):
        return None
    algo, known = endpoint_hash_algo(glance)
    wanted = digests.parse(headers, algo)
    names = {digests.GLANCE_NAMES[n] for n in wanted} - ({algo} if known else set())
    return Requested(wanted, {name: hashlib.new(name) for name in sorted(names)})


def verify_upload(glance: GlanceClient, image: dict, requested: Requested) -> None:
    """Compare what Glance stored with the digests sent; on a mismatch, the image is
    deleted (Glance refuses to remove the only location of an image's data, so nothing
    less removes the data) and :class:`~glance_api.dataplane.digests.DigestMismatch`
    says so."""
    if image.get("os_hash_algo"):  # what the endpoint keeps, now known
        app_cache().set(_algo_key(glance), image["os_hash_algo"], settings.VERSIONS_CACHE_SECONDS)
    computed = {name: hasher.digest() for name, hasher in requested.hashers.items()}
    wrong = digests.mismatched(requested.digests, image, computed)
    if not wrong:
        return
    deleted = discard_image(glance, image)
    stored = digests.of_image(image) or "no hash"
    what = (
        f"The image {image['id']} was deleted: Glance cannot remove the data from the "
        "only store that holds it, so the image went with it. Create it again to retry."
        if deleted
        else f"The image {image['id']} could not be deleted: delete it before using it."
    )
    logger.warning("An upload to image %s did not match its %s digest", image["id"], wrong)
    raise digests.DigestMismatch(
        f"The data Glance stored does not match the {', '.join(wrong)} digest sent "
        f"(Glance stored {stored}). {what}",
        image_deleted=deleted,
    )


def discard_image(glance: GlanceClient, image: dict) -> bool:
    """Delete an image whose data must not stay (a digest mismatch, a create's failed
    import; a protected one is unprotected first: its maker just made it); whether it is
    gone."""
    try:
        if image.get("protected"):
            current = get_image(glance, image["id"])
            update_image(glance, image["id"], {"protected": False}, current=current)
        delete_image(glance, image["id"])
    except exceptions.NotFound:
        return True
    except exceptions.APIException:
        logger.warning("Could not delete image %s", image["id"], exc_info=True)
        return False
    return True

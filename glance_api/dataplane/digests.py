"""``Content-Digest`` and ``Repr-Digest`` (RFC 9530) on uploads: what the uploader says its
bytes hash to, checked against what Glance stored.

Both fields are RFC 8941 dictionaries of byte sequences: ``sha-512=:<base64>:``. The
API takes ``sha-512`` (Glance's default ``os_hash_algo``), and the algorithm the Glance
endpoint itself keeps where that is another one RFC 9530 names (``sha-256``). Anything
else, or a field that is not such a dictionary, is refused before a byte reaches Glance.

After the upload, a digest of the endpoint's own algorithm is compared with Glance's
``os_hash_value`` (what it stored); ``sha-512`` on an endpoint that keeps another hash is
compared with the hash the app computed of the bytes as it passed them on. The app sends
no byte of its own and changes none, so both are of what Glance stored.
"""

import base64
import binascii
import hashlib
import re

from django.views.decorators.debug import sensitive_variables
from rest_framework import exceptions, status

FIELDS = ("Content-Digest", "Repr-Digest")
# RFC 9530's names of the hashes a Glance may keep (its os_hash_algo: hashlib's names)
GLANCE_NAMES = {"sha-512": "sha512", "sha-256": "sha256"}
ALWAYS = "sha-512"

_KEY = r"[a-z*][a-z0-9_\-.*]*"
# key=:base64: with RFC 8941 parameters (none is defined for digests: they are ignored)
_MEMBER = re.compile(rf"({_KEY})=:([A-Za-z0-9+/]*={{0,2}}):((?:;{_KEY}(?:=[^;,]*)?)*)")


class DigestRefused(exceptions.ParseError):
    """A digest field the API cannot check: nothing was sent to Glance."""

    default_code = "invalid_digest"


class DigestMismatch(exceptions.APIException):
    """What Glance stored is not what the uploader sent; the answer says what became of
    the image (``image_deleted``)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "digest_mismatch"

    def __init__(self, detail: str, image_deleted: bool):
        super().__init__(detail)
        self.extra = {"image_deleted": image_deleted}


def supported(endpoint_algo: str | None) -> list[str]:
    """The algorithms the API checks for an endpoint that keeps ``endpoint_algo``."""
    names = [ALWAYS]
    names += [n for n, glance in GLANCE_NAMES.items() if glance == endpoint_algo and n != ALWAYS]
    return names


@sensitive_variables()
def sent(headers) -> bool:
    """Whether the request carries a digest field."""
    return any(field in headers for field in FIELDS)


@sensitive_variables()
def parse(headers, endpoint_algo: str | None) -> dict[str, bytes]:
    """The digests the request sends, ``{algorithm: digest}`` (empty without a field).

    Raises :class:`DigestRefused` (400) naming the supported algorithms, for a field that
    is malformed, of another algorithm, of the wrong length, or that disagrees with the
    other field.
    """
    allowed = supported(endpoint_algo)
    expected = ", ".join(f"{name}=:<base64 of the {name} hash>:" for name in allowed)
    wanted: dict[str, bytes] = {}
    for field in FIELDS:
        value = headers.get(field)
        if value is None:
            continue
        for member in value.split(","):
            match = _MEMBER.fullmatch(member.strip(" \t"))
            if match is None:
                raise DigestRefused(
                    f"{field} is malformed: expected an RFC 9530 field such as {expected}."
                )
            name, encoded = match.group(1), match.group(2)
            if name not in allowed:
                raise DigestRefused(
                    f"{field} uses {name}, which this API does not check for this Glance: "
                    f"supported: {', '.join(allowed)}.",
                    code="unsupported_digest",
                )
            try:
                digest = base64.b64decode(encoded, validate=True)
            except binascii.Error:
                digest = b""
            size = hashlib.new(GLANCE_NAMES[name]).digest_size
            if len(digest) != size:
                raise DigestRefused(
                    f"{field}'s {name} is not a {name} digest: {len(digest)} bytes once "
                    f"decoded from base64, not {size}."
                )
            if wanted.setdefault(name, digest) != digest:
                raise DigestRefused(f"Content-Digest and Repr-Digest disagree on {name}.")
    return wanted


def mismatched(wanted: dict[str, bytes], image: dict, computed: dict[str, bytes]) -> list[str]:
    """The algorithms whose digest is not that of the data Glance stored: Glance's own
    ``os_hash_value`` where it keeps that algorithm, else the app's (``computed``)."""
    stored_algo, stored_value = image.get("os_hash_algo"), image.get("os_hash_value")
    wrong = []
    for name, digest in wanted.items():
        glance_name = GLANCE_NAMES[name]
        if glance_name == stored_algo and stored_value:
            actual = bytes.fromhex(stored_value)
        else:
            actual = computed.get(glance_name)
        if actual != digest:
            wrong.append(name)
    return wrong


def field(algo: str | None, value: str | None) -> str | None:
    """An RFC 9530 field of a hash Glance keeps (``os_hash_algo``, ``os_hash_value``)."""
    names = {glance: name for name, glance in GLANCE_NAMES.items()}
    if not value or algo not in names:
        return None
    return f"{names[algo]}=:{base64.b64encode(bytes.fromhex(value)).decode()}:"


def of_image(image: dict) -> str | None:
    """``Repr-Digest`` of the data Glance stored for ``image``."""
    return field(image.get("os_hash_algo"), image.get("os_hash_value"))

"""Byte ranges and validators of an image's file (RFC 9110, sections 8.8 and 13-14).

The file's ETag is strong, ``"<os_hash_value>"``: Glance's hash of the image's bytes,
which never change once the image has data. A single range is served as a 206 (a range
Glance's store reads); a request for several ranges gets the whole image, as RFC 9110
allows; an ``If-Range`` that is not the file's current ETag gets the whole image.
"""

import re

from rest_framework import exceptions, status

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
# Past any image's size: a position of more digits is read as this (Python's int() takes
# at most 4,300 digits, and a position that long means "past the end" anyway).
_FAR = 10**18


def _position(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) < 19 else _FAR


class Unsatisfiable(exceptions.APIException):
    """The range starts past the image's end: a 416 with ``Content-Range: bytes */<size>``
    (``headers``: glance_api.handlers sends them)."""

    status_code = status.HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE
    default_code = "range_not_satisfiable"

    def __init__(self, size: int):
        super().__init__(f"The range is outside the image's {size} bytes.")
        self.headers = {"Content-Range": f"bytes */{size}"}


def file_etag(image: dict) -> str | None:
    value = image.get("os_hash_value")
    return f'"{value}"' if value else None


def matches(header: str | None, etag: str | None) -> bool:
    """Whether an If-None-Match or If-Match header names ``etag`` (or is ``*``)."""
    if not header or not etag:
        return False
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or etag in tags or f"W/{etag}" in tags


def requested(
    range_header: str | None, if_range: str | None, etag: str | None, size: int | None
) -> tuple[int, int] | None:
    """The single range to serve, ``(first, last)`` inclusive; None for the whole image.

    :raises Unsatisfiable: a well-formed single range that starts past the end.
    """
    if not range_header or size is None:
        return None
    if if_range is not None and (etag is None or if_range.strip() != etag):
        return None  # the client's copy is not this file (or If-Range is a date)
    match = _RANGE.fullmatch(range_header.strip())
    if match is None:  # several ranges, another unit or nonsense: the whole image
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last n bytes
        suffix = _position(last)
        if suffix == 0:
            raise Unsatisfiable(size)
        return max(0, size - suffix), size - 1
    first_byte = _position(first)
    if first_byte >= size:
        raise Unsatisfiable(size)
    last_byte = min(_position(last), size - 1) if last else size - 1
    if last_byte < first_byte:
        return None  # invalid: ignored, as RFC 9110 says
    return first_byte, last_byte

"""Image data: streamed upload, staging, interoperable import, streamed download."""

import functools
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from rest_framework import exceptions

from ..clients import GlanceClient, ranged_get
from ..exceptions import GlanceConflict, IncompleteBody, check_glance_answer, glance_errors
from . import verification
from .images import get_image
from .inspection import CountingReader, reader_for

logger = logging.getLogger(__name__)


def require_queued(glance: GlanceClient, image_id: str, what: str) -> dict:
    """Glance takes data only into a queued image; asked otherwise, it may fail with a 5xx
    (an image being imported) instead of a 409, so the state is checked first."""
    image = get_image(glance, image_id)
    if image["status"] == "saving":  # data arriving, or Glance undoing a cut-off upload
        image = _wait_while_saving(glance, image_id, settle=0)
    if image["status"] == "saving":
        raise GlanceConflict("Glance is still saving data for this image; try again later.")
    if image["status"] != "queued":
        raise GlanceConflict(f"The image is {image['status']}: only a queued image takes {what}.")
    return image


def send_image_data(
    glance: GlanceClient, send, image_id: str, reader: CountingReader, size: int | None, where: str
) -> None:
    """``send`` (glanceclient's upload or stage) the bytes of ``reader`` to an image.

    A body cut off before its Content-Length is a 400 that says nothing was kept
    (``where``: "data" or "staged data"), once Glance has let go of the image.
    """
    try:
        with glance_errors():
            send(image_id, reader, image_size=size)
    except IncompleteBody as exc:
        try:
            _wait_while_saving(glance, image_id)
        except exceptions.APIException:  # the image went away meanwhile
            pass
        raise exceptions.ParseError(f"{exc} Nothing was kept: the image has no {where}.") from exc
    except exceptions.APIException as exc:
        # Glance dropped a connection that broke because the body was cut off.
        if reader.length is not None and reader.count < reader.length:
            raise exceptions.ParseError(
                f"The body ended after {reader.count} of {reader.length} bytes. "
                f"Nothing was kept: the image has no {where}."
            ) from exc
        raise


# Longest the API waits for Glance to finish with an image's data before it answers (well
# under the usual client timeouts).
SAVING_WAIT_SECONDS = 3


def _wait_while_saving(
    glance: GlanceClient, image_id: str, seconds: float = SAVING_WAIT_SECONDS, settle: float = 0.5
) -> dict:
    """The image once Glance is done with an upload: not ``saving``.

    Glance notices a body cut off a moment after the API does: the image turns
    ``saving``, then ``queued`` again. So after a cut-off the image must have been seen
    saving, or be queued for ``settle`` seconds, before the client is answered.
    """
    start = time.monotonic()
    seen_saving = False
    while True:
        image = get_image(glance, image_id)
        elapsed = time.monotonic() - start
        if image["status"] == "saving":
            seen_saving = True
        elif seen_saving or elapsed >= settle:
            return image
        if elapsed >= seconds:
            return image
        time.sleep(0.05)


def upload_image(
    glance: GlanceClient,
    image_id: str,
    stream: IO[bytes],
    size: int | None = None,
    store: str | None = None,
    requested: "verification.Requested | None" = None,
) -> dict:
    """Stream ``stream`` to Glance as the image's data, in chunks; the image afterwards.

    ``size`` (the client's Content-Length) goes to Glance as the image size, and a body
    shorter than it is refused (ParseError) with no data kept. Raises NotFound, or
    GlanceConflict if the image already has data. ``requested``: the digests the client sent
    (:func:`~glance_api.services.verification.requested_digests`), checked against what
    Glance stored (:func:`~glance_api.services.verification.verify_upload`).
    """
    image = require_queued(glance, image_id, "data")
    reader = reader_for(stream, size, image.get("disk_format"), image.get("container_format"))
    if requested is not None:
        reader.hashers = tuple(requested.hashers.values())
    upload = (
        functools.partial(glance.images.upload, backend=store) if store else glance.images.upload
    )
    send_image_data(glance, upload, image_id, reader, size, "data")
    image = get_image(glance, image_id)
    if requested is not None:
        verification.verify_upload(glance, image, requested)
    return image


def stage_image(
    glance: GlanceClient, image_id: str, stream: IO[bytes], size: int | None = None
) -> dict:
    """Stream ``stream`` to Glance's staging area (interoperable import, glance-direct)."""
    require_queued(glance, image_id, "staged data")
    send_image_data(
        glance, glance.images.stage, image_id, CountingReader(stream, size), size, "staged data"
    )
    return get_image(glance, image_id)


def import_image(
    glance: GlanceClient,
    image_id: str,
    method: str,
    *,
    uri: str | None = None,
    stores: list[str] | None = None,
    all_stores: bool = False,
    all_stores_must_succeed: bool = True,
) -> dict:
    """Start Glance's interoperable import of an image; the image afterwards."""
    with glance_errors():
        glance.images.image_import(
            image_id,
            method,
            uri=uri,
            stores=stores or None,
            all_stores=all_stores or None,
            allow_failure=not all_stores_must_succeed,
        )
    return get_image(glance, image_id)


@dataclass
class ImageData:
    image: dict
    chunks: Iterator[bytes] | None  # None when the image has no data
    byte_range: tuple[int, int] | None = None  # what Glance served, if only a range


def download_image(
    glance: GlanceClient,
    image_id: str,
    image: dict | None = None,
    byte_range: tuple[int, int] | None = None,
) -> ImageData:
    """The image and an iterator over its bytes, read from Glance in chunks as consumed.

    ``byte_range`` (first, last): only those bytes, if the image's store reads ranges
    (Glance then answers 206 with that range); else (Glance's 200, or its 400 for a store
    that reads no ranges) the whole image, and ``byte_range`` of the answer is None.
    glanceclient's ``images.data`` takes no range: its HTTP client does.
    """
    image = get_image(glance, image_id) if image is None else image
    if byte_range is None:
        with glance_errors():
            body = glance.images.data(image_id, do_checksum=False)
        if getattr(body, "wrapped", body) is None:  # Glance's 204: no data
            return ImageData(image, None)
        return ImageData(image, _guarded(body))
    answer = ranged_get(glance, image_id, *byte_range)
    if answer.status_code == 400:
        # a range of the image's size, refused by a store that reads no ranges (the http
        # store: "Getting images randomly from this store is not supported"): all of it
        answer.close()
        return download_image(glance, image_id, image)
    check_glance_answer(answer)
    if answer.status_code == 204:
        answer.close()
        return ImageData(image, None)
    body = _close_after(answer)
    served = answer.headers.get("Content-Range", "")
    if answer.status_code == 206 and served.startswith(f"bytes {byte_range[0]}-{byte_range[1]}/"):
        return ImageData(image, _guarded(body), byte_range)
    if answer.status_code == 206:  # another range than asked: not served as ours
        answer.close()
        return download_image(glance, image_id, image)
    return ImageData(image, _guarded(body))  # 200: the store read it all


def _close_after(answer) -> Iterator[bytes]:
    try:
        yield from answer.iter_content(64 * 1024)
    finally:
        answer.close()


def _guarded(body) -> Iterator[bytes]:
    """Iterate over Glance's body, logging a failure mid-way.

    The status line and Content-Length were sent already, so the error ends the stream:
    the server closes the connection and the client sees a body shorter than announced.
    """
    try:
        yield from body
    except Exception:  # the status line was sent already: all we can do is stop
        logger.warning("Glance's download broke off mid-way", exc_info=True)
        raise

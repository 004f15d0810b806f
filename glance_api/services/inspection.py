"""Whether and how the app checks an upload's bytes against the image's disk format: the
one home of that decision, and of oslo.utils' fallback (its format inspector, Glance's
own, came in 7.3, OpenStack 2024.2; ``manage.py check`` says when it is missing).

- :func:`reader_for`: what reads an upload's body for Glance: a :class:`CountingReader`,
  or a :class:`FormatCheckingReader` where the app inspects (:func:`inspects`).
- :func:`app_must_inspect`: whether an upload nginx would carry needs the app instead.
- :func:`formats_can_wait`: whether a multipart create's formats may come after its
  file (they are told from its first bytes, :func:`detect_disk_format`), or the file is
  kept aside until they come (``SpooledUpload``).
"""

import io
from typing import IO

from ..clients import GlanceClient
from ..exceptions import IncompleteBody
from .discovery import supports_version

try:  # oslo.utils 7.3 and later (OpenStack 2024.2 on)
    from oslo_utils.imageutils import format_inspector
except ImportError:  # 2024.1's oslo.utils 7.1, as Horizon 24 pins it: see can_inspect_formats
    format_inspector = None


def can_inspect_formats() -> bool:
    """Whether oslo.utils has Glance's format inspector (7.3 and later). Without it an
    upload is not checked against its disk format before Glance keeps it, and a multipart
    create whose formats come after its file keeps the file aside until they come
    (:class:`glance_api.services.streaming.SpooledUpload`); ``manage.py check`` says so."""
    return format_inspector is not None


class CountingReader:
    """Reads a request body for Glance, refusing to end early.

    If the body ends before ``length`` bytes, reading raises :class:`IncompleteBody`,
    which aborts the request to Glance mid-way, so Glance does not keep a partial file.
    ``hashers`` (hashlib objects) see every byte read (an upload's digest check).
    """

    hashers = ()

    def __init__(self, stream: IO[bytes], length: int | None):
        self.stream, self.length, self.count = stream, length, 0

    def read(self, size: int = -1) -> bytes:
        try:
            chunk = self.stream.read(size)
        except Exception as exc:  # the client's connection or chunked framing broke
            raise IncompleteBody(f"The body broke off after {self.count} bytes.") from exc
        self.count += len(chunk)
        for hasher in self.hashers:
            hasher.update(chunk)
        if not chunk and self.length is not None and self.count < self.length:
            raise IncompleteBody(f"The body ended after {self.count} of {self.length} bytes.")
        return chunk


class FormatMismatch(IncompleteBody):
    """The bytes are not of the image's disk format."""


class FormatCheckingReader(CountingReader):
    """A :class:`CountingReader` that also checks the bytes' format as Glance will.

    Glance inspects the data of a ``bare`` image as it stores it and refuses bytes that
    do not match the disk format, but only after storing them: it keeps them, and every
    later upload to that image fails inside Glance. So the same inspection
    (oslo.utils' format inspector, Glance's own) runs here, and a mismatch ends the body
    before its last byte reaches Glance, which then keeps nothing.
    """

    def __init__(self, stream: IO[bytes], length: int | None, disk_format: str):
        super().__init__(format_inspector.InspectWrapper(stream), length)
        self.disk_format = disk_format

    def read(self, size: int = -1) -> bytes:
        chunk = super().read(size)
        if not chunk:
            self._check()
        return chunk

    def _check(self) -> None:
        try:
            detected = str(self.stream.format)
        except format_inspector.ImageFormatError:  # several formats matched
            formats = sorted(str(f) for f in self.stream.formats)
            if formats == ["gpt", "iso"]:  # Glance's exception: a bootable ISO
                detected = "iso"
            else:
                raise FormatMismatch(
                    f"The data matches several formats ({', '.join(formats)})."
                ) from None
        expected = self.disk_format
        if (
            detected == expected
            or expected == "raw"
            or (detected == "raw" and expected not in format_inspector.ALL_FORMATS)
        ):
            return
        raise FormatMismatch(f"The data is {detected}, not {expected} (the image's disk_format).")


def inspects(disk_format: str | None, container_format: str | None) -> bool:
    """Whether the app checks an upload's bytes against ``disk_format``: as Glance does,
    for a bare image with a disk format, where oslo.utils can."""
    return can_inspect_formats() and container_format == "bare" and bool(disk_format)


def reader_for(
    stream: IO[bytes], length: int | None, disk_format: str | None, container_format: str | None
) -> "CountingReader":
    """What reads an upload's body for Glance: checking its format where the app inspects."""
    if inspects(disk_format, container_format):
        return FormatCheckingReader(stream, length, disk_format)
    return CountingReader(stream, length)


def app_must_inspect(glance: GlanceClient, image: dict) -> bool:
    """Whether an upload of this image needs the app's own check of the bytes' format: one
    the app inspects (:func:`inspects`), on a Glance that does not inspect uploads itself
    (``[image_format] require_image_format_match``, on by default since Glance 29, 2024.2,
    whose API is 2.17)."""
    return inspects(image.get("disk_format"), image.get("container_format")) and not (
        supports_version(glance, "2.17")
    )


def formats_can_wait(fields) -> bool:
    """Whether a multipart create's file can go to Glance as it arrives though its formats
    may come after it: they are given before it, or told from its first bytes."""
    return "disk_format" in fields or can_inspect_formats()


# Enough of a file's start for the inspector to tell every format it knows (an ISO's
# descriptor sits at 32 KiB).
HEAD_BYTES = 64 * 1024


def detect_disk_format(head: bytes) -> str:
    """The disk format oslo.utils' inspector sees in a file's first bytes (``raw`` when it
    knows none, or when several match, except an ISO with a GPT in front, as Glance)."""
    wrapper = format_inspector.InspectWrapper(io.BytesIO(head))
    while wrapper.read(HEAD_BYTES):
        pass
    wrapper.close()  # the inspectors decide on what they have seen
    try:
        return str(wrapper.format)
    except format_inspector.ImageFormatError:
        formats = {str(f) for f in wrapper.formats}
        return "iso" if formats == {"iso", "gpt"} else "raw"

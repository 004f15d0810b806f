"""An image whose data arrives inside another request: the multipart create (file-legacy).

The request's parser pushes the file's chunks as it reads them (a Django upload handler);
glanceclient pulls its upload body from a reader. :class:`StreamedUpload` joins the two with
a small bounded queue and a thread that runs the upload, so the bytes go to Glance as they
arrive, and the API server keeps neither a temporary file nor the file in memory.

Glance needs the disk and container formats before the first byte, and they can only be set
while the image is ``queued``. When the body gives them after the file (the dashboard's
client sends the file second, after ``source_type``), the formats are taken from the file's
first bytes with oslo.utils' format inspector, as Glance itself inspects them.
"""

import contextvars
import logging
import queue
import tempfile
import threading

from django.conf import settings as django_settings
from rest_framework import exceptions

from ..clients import GlanceClient
from ..conf import settings
from ..exceptions import IncompleteBody, RequestTooLarge, glance_errors
from . import inspection
from .image_data import send_image_data
from .images import create_image, discard_new_image, get_image

logger = logging.getLogger(__name__)

_END = object()


class _Pipe:
    """The file's chunks, handed from the request's thread to the upload's, a few at a time."""

    def __init__(self, depth: int):
        self.chunks = queue.Queue(depth)

    def read(self, size: int = -1) -> bytes:
        chunk = self.chunks.get()
        if chunk is _END:
            self.chunks.put(_END)  # later reads see the end too
            return b""
        if isinstance(chunk, BaseException):
            raise IncompleteBody("The request's body broke off.") from chunk
        return chunk


class StreamedUpload:
    """Create an image and upload its data while the request's body is still arriving.

    :meth:`send` each chunk as it is read, then :meth:`finish`; :meth:`abort` if the body
    breaks off, :meth:`discard` to delete the image when the request fails afterwards.
    """

    def __init__(
        self, glance: GlanceClient, disk_format: str, container_format: str, depth: int = 4
    ):
        self.glance = glance
        self.formats = (disk_format, container_format)
        self.pipe = _Pipe(depth)
        self.error: BaseException | None = None
        self.size, self.aborted = 0, False
        with glance_errors():
            image = glance.images.create(disk_format=disk_format, container_format=container_format)
        self.image_id = image["id"]
        reader = inspection.reader_for(self.pipe, None, disk_format, container_format)
        context = contextvars.copy_context()  # the request's id goes to Glance with it
        self.thread = threading.Thread(
            target=context.run,
            args=(self._upload, reader),
            name=f"upload-{self.image_id}",
            daemon=True,
        )
        self.thread.start()

    def _upload(self, reader) -> None:
        try:
            send_image_data(
                self.glance, self.glance.images.upload, self.image_id, reader, None, "data"
            )
        except BaseException as exc:  # handed to the request's thread by send/finish
            self.error = exc

    def _put(self, item) -> bool:
        """Queue ``item`` for the upload while it runs; False if it has ended."""
        while self.thread.is_alive():
            try:
                self.pipe.chunks.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def send(self, chunk: bytes) -> None:
        """Hand a chunk to the upload; raises the upload's error if Glance stopped it."""
        self.size += len(chunk)
        if not self._put(chunk):
            self._raise()

    def finish(self) -> None:
        """The file has ended: wait for Glance to store it."""
        if self._put(_END):
            self.thread.join()
        self._raise()

    def abort(self, cause: BaseException) -> None:
        """The request failed: Glance's upload is cut off (Glance keeps nothing), and the
        image is deleted. Once is enough."""
        if self.aborted:
            return
        self.aborted = True
        while True:  # the chunks not yet sent are dropped: the cause is read next
            try:
                self.pipe.chunks.get_nowait()
            except queue.Empty:
                break
        if self._put(cause):
            self.thread.join(timeout=30)
        self.discard()

    def discard(self) -> None:
        discard_new_image(self.glance, self.image_id)

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error
        if self.thread.is_alive():
            raise exceptions.APIException("The upload to Glance did not finish.")


class SpooledUpload:
    """A multipart create's file kept aside until the rest of the body is read, as Horizon's
    own legacy upload does: where its formats come after it and this oslo.utils has no
    format inspector to tell them from its first bytes (before 7.3). In memory up to
    Django's ``FILE_UPLOAD_MAX_MEMORY_SIZE``, then in a temporary file in
    ``FILE_UPLOAD_TEMP_DIR``. The image is created, with the body's formats, and its data
    uploaded by :func:`complete_streamed_image`. The same methods as :class:`StreamedUpload`.
    """

    formats = None  # not known until the body's fields after the file are read

    def __init__(self, glance: GlanceClient):
        self.glance = glance
        self.file = tempfile.SpooledTemporaryFile(
            max_size=django_settings.FILE_UPLOAD_MAX_MEMORY_SIZE,
            dir=django_settings.FILE_UPLOAD_TEMP_DIR,
        )
        self.size = 0

    def send(self, chunk: bytes) -> None:
        limit = settings.SPOOL_MAX_BYTES
        if self.size + len(chunk) > limit:
            raise RequestTooLarge(
                f"The file came before disk_format and container_format, and this server "
                f"cannot tell its format from its bytes (oslo.utils before 7.3): it keeps "
                f"such a file aside, at most {limit} bytes (SPOOL_MAX_BYTES). Send "
                f"disk_format and container_format before the file."
            )
        self.file.write(chunk)
        self.size += len(chunk)

    def finish(self) -> None:
        self.file.seek(0)

    def abort(self, cause: BaseException) -> None:
        self.file.close()

    def discard(self) -> None:
        self.file.close()


def complete_streamed_image(upload: StreamedUpload | SpooledUpload, attributes: dict) -> dict:
    """Set the rest of a streamed image's attributes once its body was read; the image.

    The formats were fixed when its data began; the body's must be the same. A spooled
    file's image is created now, with the body's attributes, and its data uploaded.
    """
    if isinstance(upload, SpooledUpload):
        try:
            return create_image(upload.glance, attributes, data=upload.file, size=upload.size)
        finally:
            upload.file.close()
    rest = {k: v for k, v in attributes.items() if k not in ("disk_format", "container_format")}
    if rest:
        with glance_errors():
            upload.glance.images.update(upload.image_id, **rest)
    return get_image(upload.glance, upload.image_id)


def start_multipart_upload(glance: GlanceClient, fields, head: bytes, upload_formats):
    """The upload of a multipart create's file, as the file begins (``fields``: the body's
    fields before it; ``head``: its first HEAD_BYTES). ``upload_formats(fields,
    detect)`` is the create serializer's check of the formats (``detect()`` tells the
    disk format from the file when the fields have none)."""
    if not inspection.formats_can_wait(fields):
        # no inspector to tell the format from the file: it waits for the fields after it
        given = {name: fields.get(name) for name in fields}  # a QueryDict's last values
        upload_formats({**given, "disk_format": "raw"}, lambda: "raw")
        return SpooledUpload(glance)
    disk, container = upload_formats(fields, lambda: inspection.detect_disk_format(head))
    return StreamedUpload(glance, disk, container)

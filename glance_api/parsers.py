"""Parsers: JSON, forms and multipart bodies whose every error is a 4xx, never a 500, and
bodies that are streamed, never parsed or kept."""

import codecs
import io
from typing import IO

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, QueryDict
from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.http.multipartparser import MultiPartParserError
from django.utils.http import parse_header_parameters
from django.views.decorators.debug import sensitive_variables
from rest_framework import exceptions, parsers
from rest_framework.parsers import BaseParser

from .draining import body_stream
from .exceptions import IncompleteBody, LengthRequired

FILE_FIELD = "data"  # the multipart create's file (the dashboard's name for it)
PEEK_BYTES = 64 * 1024  # where a form's CSRF token must be (before any file)


def get_encoding(parser_context) -> str:
    return parser_context.get("encoding", settings.DEFAULT_CHARSET)


def text_encoding(encoding: str, media_type: str | None = None) -> str:
    """``encoding``, or the ``charset`` ``media_type`` names, if it is a text encoding
    Python knows; else a 415 that names it (``bz2_codec`` is a codec, not a charset: Django
    would fail on it with a LookupError, a 500)."""
    charset = parse_header_parameters(media_type or "")[1].get("charset") or encoding
    try:
        known = codecs.lookup(charset)._is_text_encoding
    except LookupError:
        known = False
    if not known:
        raise exceptions.UnsupportedMediaType(
            media_type or charset, f"Unsupported charset {charset[:40]!r}: not a text encoding."
        )
    return charset


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser; JSON nested too deeply for Python's parser is a 400, not a 500.

    (A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused by Django as DRF reads it:
    ``glance_api.handlers`` answers 413.)
    """

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = text_encoding(get_encoding(parser_context), media_type)
        try:
            return super().parse(stream, media_type, {**parser_context, "encoding": encoding})
        except RecursionError as exc:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from exc


class FormParser(parsers.FormParser):
    """DRF's form parser, for a charset that is a text encoding only (else a 415)."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = text_encoding(get_encoding(parser_context), media_type)
        return super().parse(stream, media_type, {**parser_context, "encoding": encoding})


class OctetStreamParser(BaseParser):
    """Declares ``application/octet-stream``: views read ``request.stream`` themselves."""

    media_type = "application/octet-stream"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream


class StreamedFile(UploadedFile):
    """A multipart file that went to Glance as it arrived: :attr:`upload` holds the image."""

    def __init__(self, upload, name: str, size: int):
        super().__init__(file=None, name=name, content_type="application/octet-stream", size=size)
        self.upload = upload

    def close(self):  # nothing was kept here
        pass


class GlanceUploadHandler(FileUploadHandler):
    """Hands a multipart body's file to Glance as it is read (Django's handlers would keep
    it in memory or a temporary file).

    ``start(fields, head)`` (the parser context's ``start_upload``, which a view that takes
    files gives: ``ImageViewSet.get_parser_context``) is called with the form fields read
    before the file and the file's first ``head_bytes``, and returns the upload (its
    ``send``, ``finish`` and ``abort``). Without it no file is taken.
    """

    chunk_size = 256 * 1024

    def __init__(self, request, start, head_bytes: int, fields_so_far):
        super().__init__(request)
        self.start, self.head_bytes, self.fields_so_far = start, head_bytes, fields_so_far
        self.head, self.upload = bytearray(), None

    def new_file(self, field_name, *args, **kwargs):
        super().new_file(field_name, *args, **kwargs)
        if self.start is None:
            raise exceptions.ParseError(f"{field_name}: this endpoint takes no file.")
        if field_name != FILE_FIELD or self.upload is not None or self.head:
            raise exceptions.ParseError(
                f"{field_name}: only one file is taken, in the field {FILE_FIELD!r}."
            )

    def receive_data_chunk(self, raw_data, start):
        if self.upload is not None:
            self.upload.send(raw_data)
        else:
            self.head += raw_data
            if len(self.head) >= self.head_bytes:
                self._start()
        return None

    def file_complete(self, file_size):
        if self.upload is None:
            self._start()
        self.upload.finish()
        return StreamedFile(self.upload, self.file_name or FILE_FIELD, file_size)

    def _start(self):
        self.upload = self.start(self.fields_so_far(), bytes(self.head))
        head, self.head = bytes(self.head), bytearray()
        self.upload.send(head)

    def upload_interrupted(self):
        """The body ended inside the file: Glance keeps nothing, and no image is left."""
        if self.upload is not None:
            self.upload.abort(IncompleteBody("The body ended inside the file."))
        raise exceptions.ParseError(
            f"The body ended inside the file {FILE_FIELD!r}: no image was created."
        )

    def abort(self, cause: BaseException):
        if self.upload is not None:
            self.upload.abort(cause)


class _FieldsVisibleParser(DjangoMultiPartParser):
    def fields_so_far(self) -> QueryDict:
        return getattr(self, "_post", None) or QueryDict()  # Django's fields read so far


class _StopAtFile(FileUploadHandler):
    def new_file(self, *args, **kwargs):
        raise StopUpload(connection_reset=True)

    def receive_data_chunk(self, raw_data, start):
        return None

    def file_complete(self, file_size):
        return None


class _Prefixed:
    """A request body whose first bytes were read already: they are read again first."""

    def __init__(self, prefix: bytes, rest):
        self.prefix, self.rest = prefix, rest

    def read(self, size: int | None = -1) -> bytes:
        if not self.prefix:
            return self.rest.read(size)
        if size is None or size < 0:
            chunk, self.prefix = self.prefix + self.rest.read(), b""
        else:
            chunk, self.prefix = self.prefix[:size], self.prefix[size:]
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        if not self.prefix:
            return self.rest.readline(size)
        end = self.prefix.find(b"\n") + 1 or len(self.prefix)
        if size is not None and size >= 0:
            end = min(end, size)
        line, self.prefix = self.prefix[:end], self.prefix[end:]
        return line


def form_fields_before_file(request: HttpRequest) -> QueryDict:
    """The fields of a multipart body that come before its first file, read from at most
    its first :data:`PEEK_BYTES`, which are then read again by whatever parses the body.

    For a CSRF check, which must not parse the file (see
    ``glance_api.auth.KeystoneSessionAuthentication``).
    """
    try:
        length = min(int(request.META.get("CONTENT_LENGTH") or 0), PEEK_BYTES)
    except ValueError:
        return QueryDict()
    prefix = request._stream.read(length)  # not request.read(): the body stays unread
    request._stream = _Prefixed(prefix, request._stream)
    parser = _FieldsVisibleParser(
        {**request.META, "CONTENT_LENGTH": str(len(prefix))},
        io.BytesIO(prefix),
        [_StopAtFile()],
        request.encoding,
    )
    try:
        parser.parse()
    except (MultiPartParserError, ValueError, RequestDataTooBig):  # cut mid-field
        pass
    return parser.fields_so_far()


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, with the file streamed to Glance (:class:`GlanceUploadHandler`):
    no temporary file, no file in memory."""

    @sensitive_variables()
    def parse(self, stream, media_type=None, parser_context=None):
        request = parser_context["request"]
        meta = {**request.META, "CONTENT_TYPE": media_type}
        handler = GlanceUploadHandler(
            request,
            parser_context.get("start_upload"),
            parser_context.get("upload_head_bytes", 0),
            lambda: parser.fields_so_far(),
        )
        try:
            parser = _FieldsVisibleParser(
                meta, stream, [handler], text_encoding(get_encoding(parser_context), media_type)
            )
            data, files = parser.parse()
        except (MultiPartParserError, UnicodeDecodeError) as exc:
            handler.abort(exc)
            raise exceptions.ParseError(f"Multipart form parse error - {exc}") from exc
        except BaseException as exc:
            handler.abort(exc)
            raise
        return parsers.DataAndFiles(data, files)


PARSERS = [JSONParser, FormParser, MultiPartParser]


# What an upload of image data may say its body is: bytes, or nothing (curl -T, requests).
UPLOAD_MEDIA_TYPES = ("application/octet-stream", "")


def require_octet_stream(request) -> None:
    """:raises UnsupportedMediaType: the body is declared as something else than bytes (a
    JSON body sent to an image's file, say), as the schema documents (415)."""
    media_type = request.content_type.split(";")[0].strip().lower()
    if media_type not in UPLOAD_MEDIA_TYPES:
        raise exceptions.UnsupportedMediaType(media_type)


def upload_body(request) -> tuple[IO[bytes], int | None]:
    """An upload's body as a stream, and its size (None when chunked).

    With a Content-Length, Django's stream of it (:func:`glance_api.draining.body_stream`).
    A chunked body has no Content-Length, so Django reads none of it: it comes straight
    from the server's input, where the server decodes the chunks and says so
    (``wsgi.input_terminated``, as gunicorn does); on any other server it is a 411.

    :raises UnsupportedMediaType: see :func:`require_octet_stream`.
    :raises ParseError: the Content-Length is not a whole number of bytes.
    :raises LengthRequired: a chunked body this server cannot take.
    """
    require_octet_stream(request)
    length = request.headers.get("Content-Length")
    if length and not (length.isascii() and length.isdigit()):
        raise exceptions.ParseError("Content-Length must be a whole number of bytes.")
    size = int(length) if length else None
    stream = body_stream(request._request)
    if stream is not None:
        return stream, size
    if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        raise LengthRequired()
    return io.BytesIO(b""), size

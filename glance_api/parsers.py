"""Parsers: JSON that never answers 500, and bodies that are streamed, never parsed."""

from rest_framework import exceptions, parsers
from rest_framework.parsers import BaseParser


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser; JSON nested too deeply for Python's parser is a 400, not a 500.

    (A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused by Django as DRF reads it:
    ``glance_api.handlers`` answers 413.)
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from exc


class OctetStreamParser(BaseParser):
    """Declares ``application/octet-stream``: views read ``request.stream`` themselves."""

    media_type = "application/octet-stream"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream


PARSERS = [JSONParser, parsers.FormParser, parsers.MultiPartParser]

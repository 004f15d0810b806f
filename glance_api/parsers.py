"""Parsers for bodies that are streamed, never parsed."""

from rest_framework.parsers import BaseParser


class OctetStreamParser(BaseParser):
    """Declares ``application/octet-stream``: views read ``request.stream`` themselves."""

    media_type = "application/octet-stream"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream

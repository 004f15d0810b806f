"""What an identifier of Glance's looks like."""

import re

_UUID = re.compile(r"[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}")


def is_uuid(value: str) -> bool:
    """Glance's image ids are UUIDs (it refuses any other id on create): hex digits with
    or without hyphens, nothing that could change a URL."""
    return isinstance(value, str) and _UUID.fullmatch(value) is not None

"""Values pasted into Glance's URLs, each as exactly one path segment.

glanceclient (and :func:`glance_api.clients.get_json`) put tags, member ids and
namespace names into URL paths as they are. Each is quoted here with nothing left safe, so
``/``, ``?`` and ``#`` stay inside it; and ``.`` and ``..``, which quoting leaves as they
are and which requests and urllib3 then remove as dot segments (so that
``images/<id>/tags/..`` would be ``images/<id>/``), are refused, as is an empty value: no
input changes which Glance endpoint is called.
"""

import urllib.parse

from rest_framework import exceptions


def segment(value: str, name: str) -> str:
    """``value`` quoted as one path segment; a 400 naming ``name`` if it cannot be one."""
    if value in ("", ".", ".."):
        raise exceptions.ValidationError(
            {name: [f"{name} cannot be {value!r}: it would not be one segment of Glance's URL."]}
        )
    return urllib.parse.quote(value, safe="")

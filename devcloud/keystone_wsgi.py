"""Keystone's WSGI application for gunicorn.

Keystone parses ``sys.argv`` when it is imported, and gunicorn's own arguments
make it exit with "unrecognized arguments"; so the arguments are trimmed first.
Keystone reads its configuration from ``OS_KEYSTONE_CONFIG_FILES``.
"""

import sys

sys.argv = sys.argv[:1]

from keystone.wsgi.api import application  # noqa: E402

__all__ = ["application"]

"""Keystone's WSGI application for gunicorn.

Keystone parses ``sys.argv`` when it is imported, and gunicorn's own arguments
make it exit with "unrecognized arguments"; so the arguments are trimmed first.
Keystone reads its configuration from ``OS_KEYSTONE_CONFIG_FILES``.
"""

import sys

sys.argv = sys.argv[:1]

# keystone.server.wsgi on every release (keystone.wsgi.api, which wraps it, is newer than
# 2024.1's Keystone 25)
from keystone.server import wsgi  # noqa: E402

application = wsgi.initialize_public_application()

__all__ = ["application"]

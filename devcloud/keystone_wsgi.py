"""Keystone's WSGI application for gunicorn.

Keystone parses ``sys.argv`` when it is imported, and gunicorn's own arguments
make it exit with "unrecognized arguments"; so the arguments are trimmed first.
Keystone reads its configuration from ``OS_KEYSTONE_CONFIG_FILES``.

Keystone makes its policy enforcer at its first request, and publishes it before it has
registered its rules (``RBACEnforcer._enforcer``): under threads (the dev cloud's
gunicorn runs four per worker), a request in the same moment is checked against no
rules, and refused 403 (a token's validation of itself was, in make chaos's Keystone
restart). Production deployments run Keystone with one thread per process; here, the
enforcer is made, with its rules, as each worker loads the application.
"""

import sys

sys.argv = sys.argv[:1]

# keystone.server.wsgi on every release (keystone.wsgi.api, which wraps it, is newer than
# 2024.1's Keystone 25)
from keystone.common.rbac_enforcer.enforcer import RBACEnforcer  # noqa: E402
from keystone.server import wsgi  # noqa: E402

application = wsgi.initialize_public_application()

_policy = RBACEnforcer()
# the one "deprecated policy rules" line at the first enforcement, as in a request,
# rather than a warning per rule now
_policy.suppress_deprecation_warnings = True
_policy._enforcer.load_rules()

__all__ = ["application"]

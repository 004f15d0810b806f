"""Glance's WSGI application for gunicorn, on every release the dev cloud runs.

Glance 29 and later also have ``glance.wsgi.api``; 2024.1's Glance 28 has only this.
Glance reads its configuration from ``OS_GLANCE_CONFIG_DIR``.
"""

from glance.common import wsgi_app

application = wsgi_app.init_app()

"""Horizon's URLconf with glance_api at ``api/glance/``: ``ROOT_URLCONF =
"glance_api.horizon.urls"`` in Horizon's local_settings.py.

The app's routes come first, so they answer ``api/glance/`` instead of Horizon's own REST
views; every other URL is Horizon's (``openstack_dashboard.urls``).
"""

from django.urls import include, path
from openstack_dashboard import urls as dashboard_urls

urlpatterns = [
    path("api/glance/", include("glance_api.urls")),
    *dashboard_urls.urlpatterns,
]

for _handler in ("handler400", "handler403", "handler404", "handler500"):
    if hasattr(dashboard_urls, _handler):
        globals()[_handler] = getattr(dashboard_urls, _handler)

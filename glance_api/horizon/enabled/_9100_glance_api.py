"""Horizon's plugin file for glance_api: copy it into openstack_dashboard/local/enabled/.

Horizon reads only enabled files that define DASHBOARD, PANEL, PANEL_GROUP or FEATURE;
this one adds no panel, only the app (served at api/glance/ by glance_api.horizon.urls).
"""

FEATURE = True
ADD_INSTALLED_APPS = ["rest_framework", "glance_api"]
AUTO_DISCOVER_STATIC_FILES = False

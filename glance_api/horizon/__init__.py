"""glance_api inside Horizon, in place of Horizon's own ``/api/glance/``.

1. ``pip install`` the app into Horizon's environment.
2. Copy ``glance_api/horizon/enabled/_9100_glance_api.py`` into Horizon's
   ``openstack_dashboard/local/enabled/``.
3. In Horizon's ``local_settings.py``: ``ROOT_URLCONF = "glance_api.horizon.urls"``.

Requests from Horizon's signed-in browser session are authenticated with the Keystone
token openstack_auth keeps for the user (``glance_api.auth.KeystoneSessionAuthentication``).
"""

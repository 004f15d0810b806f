"""glance_api: a Django REST Framework app that serves OpenStack Glance over HTTP."""

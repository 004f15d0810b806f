"""The app's URLs; include them anywhere, for example ``path("api/glance/", include(...))``."""

from rest_framework import routers

from . import viewsets


class Router(routers.DefaultRouter):
    APIRootView = viewsets.APIRootView


router = Router()
router.register("version", viewsets.VersionViewSet, basename="version")

app_name = "glance_api"
urlpatterns = router.urls

"""The app's URLs; include them anywhere, for example ``path("api/glance/", include(...))``."""

from rest_framework import routers

from . import viewsets


class Router(routers.DefaultRouter):
    """DRF's router, with PUT on a collection creating too (the dashboard client's create)."""

    APIRootView = viewsets.APIRootView
    routes = [
        route._replace(mapping={**route.mapping, "put": "create"})
        if isinstance(route, routers.Route) and route.mapping.get("post") == "create"
        else route
        for route in routers.DefaultRouter.routes
    ]


router = Router()
router.register("images", viewsets.ImageViewSet, basename="image")
router.register("metadefs/namespaces", viewsets.NamespaceViewSet, basename="namespace")
router.register("metadefs/resourcetypes", viewsets.ResourceTypeViewSet, basename="resourcetype")
router.register("version", viewsets.VersionViewSet, basename="version")

app_name = "glance_api"
urlpatterns = router.urls

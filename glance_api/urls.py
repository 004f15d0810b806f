"""The app's URLs; include them anywhere, for example ``path("api/glance/", include(...))``."""

from django.urls import URLPattern, re_path
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


def without_trailing_slash(patterns: list[URLPattern]) -> list[URLPattern]:
    """The same routes without their final slash, answered in place (no redirect), so
    that POST, PUT and PATCH work there too. Reversing still gives the slashed URL."""
    return [
        re_path(pattern.pattern.regex.pattern[: -len("/$")] + "$", pattern.callback,
                pattern.default_args)
        for pattern in patterns
        if pattern.pattern.regex.pattern.endswith("/$") and "format" not in pattern.pattern.regex.pattern
        and pattern.pattern.regex.pattern != "^$"
    ]


router = Router()
router.register("images", viewsets.ImageViewSet, basename="image")
router.register("metadefs/namespaces", viewsets.NamespaceViewSet, basename="namespace")
router.register("metadefs/resourcetypes", viewsets.ResourceTypeViewSet, basename="resourcetype")
router.register("info", viewsets.InfoViewSet, basename="info")
router.register("schemas", viewsets.SchemaViewSet, basename="schema")
router.register("version", viewsets.VersionViewSet, basename="version")

app_name = "glance_api"
urlpatterns = router.urls + without_trailing_slash(router.urls)

"""The app's URLs; include them anywhere, for example ``path("api/glance/", include(...))``."""

from django.urls import URLPattern, path, re_path
from rest_framework import routers

from . import views


class Router(routers.DefaultRouter):
    """DRF's router, with PUT on a collection creating too (the dashboard client's create)."""

    APIRootView = views.APIRootView
    routes = [
        route._replace(mapping={**route.mapping, "put": "create"})
        if isinstance(route, routers.Route) and route.mapping.get("post") == "create"
        else route
        for route in routers.DefaultRouter.routes
    ]


def without_trailing_slash(patterns: list[URLPattern]) -> list[URLPattern]:
    """The same routes without their final slash, answered in place (no redirect), so
    that POST, PUT and PATCH work there too. They are left out of the OpenAPI schema,
    and reversing a URL still gives the one with the slash."""
    unslashed = []
    for pattern in patterns:
        regex = pattern.pattern.regex.pattern
        if regex.endswith("/$") and regex != "^/$" and hasattr(pattern.callback, "actions"):
            unslashed.append(re_path(regex.removesuffix("/$") + "$",
                                     _unlisted(pattern.callback), pattern.default_args))
    return unslashed


def _unlisted(callback):
    """The same viewset view, with no schema (so documented once, under its slashed path)."""
    view_class = type(callback.cls.__name__, (callback.cls,), {"schema": None})
    return view_class.as_view(callback.actions, **callback.initkwargs)


router = Router()
router.register("images", views.ImageViewSet, basename="image")
router.register("metadefs/namespaces", views.NamespaceViewSet, basename="namespace")
router.register("metadefs/resourcetypes", views.ResourceTypeViewSet, basename="resourcetype")
router.register("info", views.InfoViewSet, basename="info")
router.register("schemas", views.SchemaViewSet, basename="schema")
router.register("version", views.VersionViewSet, basename="version")

app_name = "glance_api"
urlpatterns = [
    path("uploads/<str:secret>/", views.UploadView.as_view(), name="upload"),
    path("healthz/", views.LivenessView.as_view(), name="healthz"),
    path("readyz/", views.ReadinessView.as_view(), name="readyz"),
    *router.urls,
    *without_trailing_slash(router.urls),
]

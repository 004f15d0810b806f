"""The app's URLs; include them anywhere, for example ``path("api/glance/", include(...))``."""

from django.urls import URLPattern, path, re_path
from rest_framework import routers

from . import views


def _more_methods(route):
    """PUT on a collection creates too (the dashboard client's create of images); DELETE
    on it is
    ``destroy_all`` and POST on one item ``create_one``, where a viewset has them."""
    if not isinstance(route, routers.Route):
        return route
    if route.mapping.get("post") == "create":
        return route._replace(mapping={**route.mapping, "put": "create", "delete": "destroy_all"})
    if route.mapping.get("get") == "retrieve":
        return route._replace(mapping={**route.mapping, "post": "create_one"})
    return route


class Router(routers.DefaultRouter):
    """DRF's router, with the methods of :func:`_more_methods` (PUT creating on the
    collections whose viewset says ``put_creates``)."""

    APIRootView = views.APIRootView
    routes = [_more_methods(route) for route in routers.DefaultRouter.routes]

    def get_method_map(self, viewset, method_map):
        methods = super().get_method_map(viewset, method_map)
        if methods.get("put") == "create" and not getattr(viewset, "put_creates", False):
            del methods["put"]
        return methods


def without_trailing_slash(patterns: list[URLPattern]) -> list[URLPattern]:
    """The same routes without their final slash, answered in place (no redirect), so
    that POST, PUT and PATCH work there too. They are left out of the OpenAPI schema,
    and reversing a URL still gives the one with the slash."""
    unslashed = []
    for pattern in patterns:
        regex = pattern.pattern.regex.pattern
        if regex.endswith("/$") and regex != "^/$" and hasattr(pattern.callback, "actions"):
            unslashed.append(
                re_path(
                    regex.removesuffix("/$") + "$",
                    _unlisted(pattern.callback),
                    pattern.default_args,
                )
            )
    return unslashed


def _unlisted(callback):
    """The same viewset view, with no schema (so documented once, under its slashed path)."""
    view_class = type(callback.cls.__name__, (callback.cls,), {"schema": None})
    return view_class.as_view(callback.actions, **callback.initkwargs)


router = Router()
router.register("images", views.ImageViewSet, basename="image")
router.register("metadefs/namespaces", views.NamespaceViewSet, basename="namespace")
for kind, viewset in (
    ("objects", views.MetadefObjectViewSet),
    ("properties", views.MetadefPropertyViewSet),
    ("tags", views.MetadefTagViewSet),
    ("resource_types", views.NamespaceResourceTypeViewSet),
):
    router.register(
        rf"metadefs/namespaces/(?P<namespace>[^/]+)/{kind}",
        viewset,
        basename=f"namespace-{kind.replace('_', '')}",
    )
router.register("metadefs/resourcetypes", views.ResourceTypeViewSet, basename="resourcetype")
router.register("cache", views.ImageCacheViewSet, basename="cache")
router.register("info", views.InfoViewSet, basename="info")
router.register("schemas", views.SchemaViewSet, basename="schema")
router.register("version", views.VersionViewSet, basename="version")

app_name = "glance_api"
urlpatterns = [
    path("uploads/<str:secret>/", views.UploadView.as_view(), name="upload"),
    path("uploads/<str:secret>", views.UploadView.as_view(schema=None)),  # as the others
    # nginx's auth_request for the uploads it carries (glance_api.dataplane.accel)
    path("_accel/upload/", views.UploadAuthorizationView.as_view(), name="accel-upload"),
    path("healthz/", views.LivenessView.as_view(), name="healthz"),
    path("readyz/", views.ReadinessView.as_view(), name="readyz"),
    *router.urls,
    *without_trailing_slash(router.urls),
]

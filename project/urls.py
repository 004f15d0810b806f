from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from glance_api.schema import SchemaView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="glance_api:api-root", permanent=False)),
    path("api/glance/", include("glance_api.urls")),
    path("api-auth/", include("glance_api.auth_urls")),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="schema", template_name="glance_api/redoc.html"),
        name="redoc",
    ),
]

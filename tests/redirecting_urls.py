"""A URLconf that redirects ``version`` to ``version/`` (as Django's APPEND_SLASH would),
for tests/test_version.py's check that the app answers in place."""

from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("api/glance/version", RedirectView.as_view(url="/api/glance/version/", permanent=True)),
    path("api/glance/", include("glance_api.urls")),
]

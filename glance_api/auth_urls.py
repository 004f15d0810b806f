"""Sign-in and sign-out for the browsable API, with Keystone credentials.

Include it in place of ``rest_framework.urls``::

    path("api-auth/", include("glance_api.auth_urls")),
"""

from django.contrib.auth import views
from django.urls import path

from .forms import KeystoneAuthenticationForm

app_name = "rest_framework"

urlpatterns = [
    path(
        "login/",
        views.LoginView.as_view(
            template_name="glance_api/login.html",
            authentication_form=KeystoneAuthenticationForm,
        ),
        name="login",
    ),
    path("logout/", views.LogoutView.as_view(), name="logout"),
]

"""Sign-in and sign-out for the browsable API, with Keystone credentials.

Include it in place of ``rest_framework.urls``::

    path("api-auth/", include("glance_api.auth_urls")),
"""

from django.contrib.auth import views
from django.http import HttpResponseRedirect
from django.urls import path

from .auth import sign_in
from .forms import KeystoneAuthenticationForm


class SignInView(views.LoginView):
    """Django's login view and form; the session keeps the Keystone token (no user row)."""

    template_name = "glance_api/login.html"
    authentication_form = KeystoneAuthenticationForm

    def form_valid(self, form):
        sign_in(self.request, form.get_user())
        return HttpResponseRedirect(self.get_success_url())


app_name = "rest_framework"

urlpatterns = [
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
]

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

    def form_invalid(self, form):
        """The form again; where Keystone could not answer, with its status (a 503 with
        Retry-After, a 504), not a 200: the sign-in did not fail, it could not be tried."""
        response = super().form_invalid(form)
        error = getattr(form, "upstream_error", None)
        if error is not None:
            response.status_code = error.status_code
            if getattr(error, "wait", None):
                response["Retry-After"] = str(error.wait)
        return response


class SignOutView(views.LogoutView):
    """Django's logout view, by POST only (with its CSRF check), on Django 4.2 too, whose
    own still signs out on a GET: a cross-site ``<img>`` could end a user's sign-in and
    revoke the token. DRF's browsable API posts its logout form."""

    http_method_names = ["post", "options"]


app_name = "rest_framework"

urlpatterns = [
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", SignOutView.as_view(), name="logout"),
]

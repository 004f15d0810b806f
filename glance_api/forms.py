"""The sign-in form: Django's, plus the Keystone project and domain, and a limit on
failed sign-ins per user (``SIGN_IN_ATTEMPTS`` per ``SIGN_IN_WINDOW_SECONDS``), so that
password guesses do not go on to Keystone at the rate they come."""

import hashlib

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_variables
from rest_framework.exceptions import APIException

from .cache import app_cache
from .conf import settings


def _failures_key(username: str, domain: str) -> str:
    who = f"{domain.lower()}\0{username.lower()}".encode()
    return "glance_api:sign-in-failures:" + hashlib.sha256(who).hexdigest()


class KeystoneAuthenticationForm(AuthenticationForm):
    project = forms.CharField(
        required=False,
        max_length=64,
        help_text="Keystone project name; leave empty for your default project.",
    )
    domain = forms.CharField(
        required=False,
        max_length=64,
        help_text="Keystone domain of the user and project; empty means the default.",
    )

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["domain"].widget.attrs["placeholder"] = settings.DEFAULT_DOMAIN
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control"

    @method_decorator(sensitive_variables())
    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username and password:
            cache = app_cache()
            failures = _failures_key(
                username, self.cleaned_data.get("domain") or settings.DEFAULT_DOMAIN
            )
            if (cache.get(failures) or 0) >= settings.SIGN_IN_ATTEMPTS:
                raise forms.ValidationError(
                    "Too many failed sign-ins for this user: try again in a few minutes.",
                    code="throttled",
                )
            try:
                self.user_cache = authenticate(
                    self.request,
                    username=username,
                    password=password,
                    project=self.cleaned_data.get("project"),
                    domain=self.cleaned_data.get("domain"),
                    keystone_sign_in=True,
                )
            except APIException as exc:  # Keystone down or failing: say so, in the form
                self.upstream_error = exc  # and in the answer's status (SignInView)
                raise forms.ValidationError(str(exc.detail), code=exc.default_code) from exc
            if self.user_cache is None:
                if not cache.add(failures, 1, settings.SIGN_IN_WINDOW_SECONDS):
                    cache.incr(failures)
                raise self.get_invalid_login_error()
            cache.delete(failures)
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data

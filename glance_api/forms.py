"""The sign-in form: Django's, plus the Keystone project and domain."""

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_variables
from rest_framework.exceptions import APIException

from .conf import settings


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
                raise forms.ValidationError(str(exc.detail), code=exc.default_code) from exc
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data

"""Who is calling: DRF authentication by token or session, and Django sign-in with Keystone.

Both DRF classes give ``request.user`` a :class:`KeystoneUser` and ``request.auth`` the
token's :class:`keystoneauth1.access.AccessInfoV3`, from which the caller's own glanceclient
is built. The session holds the token server side under :data:`SESSION_TOKEN_KEY`.
"""

import copy

from django.conf import settings as django_settings
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from django.http import QueryDict
from django.middleware.csrf import rotate_token
from django.utils.datastructures import MultiValueDict
from django.views.decorators.debug import sensitive_variables
from keystoneauth1 import access
from rest_framework import authentication, exceptions

from . import keystone, parsers
from .conf import settings

SESSION_TOKEN_KEY = "glance_api.keystone_token"
TOKEN_HEADER = "HTTP_X_AUTH_TOKEN"


class KeystoneUser:
    """The caller as Keystone knows them; not a database row."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, access_info: access.AccessInfoV3):
        self.access_info = access_info
        self.id = self.pk = access_info.user_id
        self.username = access_info.username
        self.domain = access_info.user_domain_name
        self.project_id = access_info.project_id
        self.project_name = access_info.project_name
        self.roles = tuple(access_info.role_names)

    def __str__(self) -> str:
        return f"{self.username} ({self.project_name})"

    def get_username(self) -> str:
        return self.username


class KeystoneTokenAuthentication(authentication.BaseAuthentication):
    """``X-Auth-Token: <token>``, validated by Keystone."""

    @sensitive_variables()  # on the method itself: method_decorator rebuilds it per call
    def authenticate(self, request):
        token = request.META.get(TOKEN_HEADER)
        if not token:
            return None
        access_info = keystone.validate_token(token)
        return KeystoneUser(access_info), access_info

    def authenticate_header(self, request) -> str:
        return f'Keystone uri="{settings.KEYSTONE_URL}"'


class KeystoneSessionAuthentication(authentication.SessionAuthentication):
    """A session's Keystone token: the one signing in here kept in the session (see
    :class:`KeystoneBackend`), or, inside Horizon, the one openstack_auth keeps for its
    signed-in user (``request.user.token.id``); outside Horizon no user has the latter.
    Either is validated like any other token.

    Unsafe methods need the CSRF token, as with DRF's ``SessionAuthentication``, taken
    from its header without reading the body: Django's check reads a POST body's
    ``csrfmiddlewaretoken`` field first, which parses the whole body, and a multipart
    create's file must be parsed only once the caller is known (its bytes go to Glance as
    they are read). With the ``X-CSRFToken`` header (as the dashboard's client sends it)
    the check sees an empty form instead; without it, a multipart form's token is read
    from the fields before its file (a browser's form, such as the browsable API's, sends
    the token first).
    """

    @sensitive_variables()
    def authenticate(self, request):
        django_request = request._request
        session = getattr(django_request, "session", None)
        token = session.get(SESSION_TOKEN_KEY) if session is not None else None
        expired = "Your sign-in has expired; sign in again."
        if not token:  # inside Horizon: its signed-in user's
            user = getattr(django_request, "user", None)
            if getattr(user, "is_authenticated", False):
                token = getattr(getattr(user, "token", None), "id", None)
            expired = "Your dashboard session has expired; sign in again."
        if not token:
            return None
        try:
            access_info = keystone.validate_token(token)
        except exceptions.AuthenticationFailed as exc:
            raise exceptions.AuthenticationFailed(expired) from exc
        self.enforce_csrf(request)
        return KeystoneUser(access_info), access_info

    def enforce_csrf(self, request):
        django_request = request._request
        if request.method == "POST" and not hasattr(django_request, "_post"):
            if django_settings.CSRF_HEADER_NAME in django_request.META:
                form = QueryDict()
            elif django_request.content_type == "multipart/form-data":
                form = parsers.form_fields_before_file(django_request)
            else:  # a urlencoded form: small, parsed as Django does
                return super().enforce_csrf(django_request)
            django_request = copy.copy(django_request)
            django_request._post, django_request._files = form, MultiValueDict()
        return super().enforce_csrf(django_request)


# The name of Horizon's session authentication before 0.2.0 (one class now does both).
HorizonSessionAuthentication = KeystoneSessionAuthentication


class KeystoneBackend(BaseBackend):
    """Django authentication with Keystone username, password, project and domain.

    Only for the app's sign-in (``glance_api.auth_urls``), whose form passes
    ``keystone_sign_in=True``. It returns a :class:`KeystoneUser` (no database row), which
    ``django.contrib.auth.login`` cannot keep; :func:`sign_in` keeps its token
    in the session, which is all the API needs: no SQL database is involved, so several
    instances that share their sessions (a cache session engine on Redis) share sign-ins.
    """

    @sensitive_variables()
    def authenticate(
        self,
        request,
        username=None,
        password=None,
        project=None,
        domain=None,
        keystone_sign_in=False,
        **kwargs,
    ):
        # Only the app's sign-in form asks (keystone_sign_in=True): another login of the
        # project (Django's admin, say) never signs in with Keystone through this backend.
        if not keystone_sign_in or not username or not password:
            return None
        access_info = keystone.password_login(
            username, password, project, domain or settings.DEFAULT_DOMAIN
        )
        return KeystoneUser(access_info) if access_info is not None else None

    def get_user(self, user_id):
        return None  # sign_in keeps no user id in the session: nothing to look up


@sensitive_variables()
def sign_in(request, user: KeystoneUser) -> None:
    """What ``django.contrib.auth.login`` does, with the token in place of a user row: a
    new session key, the token (the session ends when it expires), a new CSRF token; a
    token the session held before (signing in again) is revoked."""
    previous = request.session.get(SESSION_TOKEN_KEY)
    request.session.cycle_key()  # no session fixation
    request.session[SESSION_TOKEN_KEY] = user.access_info.auth_token
    request.session.set_expiry(user.access_info.expires)
    rotate_token(request)
    if previous and previous != user.access_info.auth_token:
        keystone.revoke_token(previous)


@receiver(user_logged_out)
@sensitive_variables()
def revoke_token_on_logout(sender, request, user, **kwargs):
    token = request.session.get(SESSION_TOKEN_KEY) if request is not None else None
    if token:
        keystone.revoke_token(token)

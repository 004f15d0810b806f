"""What every view of the app shares: Keystone identity, renderers, errors, the caller's client."""

from functools import cached_property

from django.urls import get_script_prefix, get_urlconf
from django.urls import reverse as django_reverse
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.http import http_date
from django.views.decorators.debug import sensitive_variables
from rest_framework import exceptions, permissions, routers, viewsets
from rest_framework.reverse import preserve_builtin_query_params

from .. import draining, keystone, services
from ..auth import KeystoneSessionAuthentication, KeystoneTokenAuthentication
from ..exceptions import GlanceRefusedToken
from ..handlers import exception_handler
from ..identifiers import is_uuid
from ..metadata import GlanceMetadata
from ..pagination import DashboardPagination
from ..parsers import PARSERS
from ..renderers import RENDERERS
from ..schema import GlanceAutoSchema

# The longest id, name, tag or member id a path may carry (Glance's own limit).
MAX_PATH_VALUE = 255

# Routes' paths, reversed once per process with a stand-in id per argument (see
# GlanceViewSet.reverse_action): {(view name, script prefix, urlconf, arguments): path}.
_ROUTE_PATHS: dict[tuple, str] = {}
_STAND_INS = tuple(f"00000000-0000-4000-8000-{index:012d}" for index in range(4))


# What Django's add_never_cache_headers writes on an answer that has neither header.
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


def add_private_headers(response) -> None:
    """Django's ``add_never_cache_headers``, its headers written at once where the answer
    has none (its parsing and merging were a twentieth of the app's own time of an image
    get); merged by Django where the view set either."""
    if response.has_header("Cache-Control") or response.has_header("Expires"):
        add_never_cache_headers(response)
    else:
        response.headers["Expires"] = http_date()
        response.headers["Cache-Control"] = NEVER_CACHE


class PrivateAnswersMixin:
    def finalize_response(self, request, response, *args, **kwargs):
        """Answers are the caller's own: no shared or browser cache keeps them. What the
        view left unread of the request body is read first (``glance_api.draining``)."""
        draining.drain(getattr(request, "_request", request))
        response = super().finalize_response(request, response, *args, **kwargs)
        add_private_headers(response)
        patch_vary_headers(response, ("X-Auth-Token", "Cookie"))
        return response


class KeystoneAPIMixin(PrivateAnswersMixin):
    """The app's own settings for a view, whatever the project's DRF defaults are."""

    authentication_classes = [
        KeystoneTokenAuthentication,
        KeystoneSessionAuthentication,
    ]
    permission_classes = [permissions.IsAuthenticated]
    renderer_classes = RENDERERS
    parser_classes = PARSERS
    metadata_class = GlanceMetadata
    schema = GlanceAutoSchema()

    def get_exception_handler(self):
        return exception_handler

    @sensitive_variables()
    def handle_exception(self, exc):
        """A token Glance or Keystone refused is validated again on its next use: its
        cached validation is dropped (the next request with it is a 401 too). Where Glance
        refused a token this app had taken, Keystone is asked (``keystone.recheck_token``):
        a 401 if it refuses the token too, else a 503 (Glance could not check it)."""
        if isinstance(exc, exceptions.AuthenticationFailed):
            token = getattr(getattr(self.request, "_auth", None), "auth_token", None)
            if token and isinstance(exc, GlanceRefusedToken):
                try:
                    keystone.recheck_token(token)
                except exceptions.APIException as checked:
                    exc = checked
            elif token:
                keystone.forget_token(token)
        return super().handle_exception(exc)


class GlanceViewSet(KeystoneAPIMixin, viewsets.GenericViewSet):
    """Base of the resource viewsets: no queryset, the dashboard's paging, the caller's client.

    ``browsable_links(data)`` (optional) gives the browsable API's page its links
    (title -> URL) to related pages.
    """

    pagination_class = DashboardPagination
    lookup_value_regex = "[^/]+"
    # What the browsable API's titles and breadcrumbs call a list of these ("Images"); by
    # default the class's name ("Image") with an s.
    plural_name: str | None = None

    def get_view_name(self) -> str:
        """ "Images" for a list and "Image" for one (the browsable API adds its name), where
        DRF says "Image List" and "Image Instance"; an action's own name otherwise."""
        name = super().get_view_name()
        suffix = getattr(self, "suffix", None)
        if suffix and name.endswith(f" {suffix}"):
            noun = name.removesuffix(f" {suffix}")
            if suffix == "List":
                return self.plural_name or f"{noun}s"
            if suffix == "Instance":
                return noun
        return name

    # The URL keyword that holds an image id, where there is one ("pk" for images/): image
    # ids are UUIDs, anything else is no image (and never reaches Glance's URL).
    image_id_kwarg: str | None = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        errors = {
            "id" if name == "pk" else name: [f"At most {MAX_PATH_VALUE} characters."]
            for name, value in kwargs.items()
            if len(value) > MAX_PATH_VALUE
        }
        if errors:
            raise exceptions.ValidationError(errors)
        if self.image_id_kwarg in kwargs and not is_uuid(kwargs[self.image_id_kwarg]):
            raise exceptions.NotFound("No such image.")

    def reverse_action(self, url_name, *args, **kwargs):
        """DRF's, made cheap where the arguments are ids (UUIDs, which a URL takes as they
        are): the route's path is reversed once per process, with stand-ins that the ids
        replace. (Django's ``reverse()`` took a tenth of the app's own time of an image
        get, for the ``Link`` header.) Anything else, or a versioning scheme, goes to DRF."""
        ids = kwargs.get("args") or ()
        if (
            args
            or set(kwargs) != {"args"}
            or not 0 < len(ids) <= len(_STAND_INS)
            or not all(is_uuid(value) for value in ids)
            or getattr(self.request, "versioning_scheme", None) is not None
        ):
            return super().reverse_action(url_name, *args, **kwargs)
        name = f"{self.basename}-{url_name}"
        namespace = self.request.resolver_match and self.request.resolver_match.namespace
        if namespace:
            name = f"{namespace}:{name}"
        key = (name, get_script_prefix(), get_urlconf(), len(ids))
        path = _ROUTE_PATHS.get(key)
        if path is None:
            path = _ROUTE_PATHS[key] = django_reverse(name, args=_STAND_INS[: len(ids)])
        for stand_in, value in zip(_STAND_INS, ids, strict=False):
            path = path.replace(stand_in, value)
        return preserve_builtin_query_params(self.request.build_absolute_uri(path), self.request)

    def get_serializer(self, *args, **kwargs):
        # The browsable API fills its forms from the resource it just showed (PUT on the
        # images collection creates); a create form starts empty instead.
        if self.action == "create":
            kwargs.pop("instance", None)
            args = ()
        return super().get_serializer(*args, **kwargs)

    @cached_property
    def glance(self) -> services.GlanceClient:
        """The caller's glanceclient."""
        return services.client_for(self.request.auth)

    def query(self, serializer_class, **context):
        """The request's query, validated by ``serializer_class`` (400 naming what is wrong)."""
        query = serializer_class(data=self.request.query_params, context=context)
        query.is_valid(raise_exception=True)
        return query

    def browsable_links(self, data) -> list[tuple[str, str]]:
        return []


class APIRootView(KeystoneAPIMixin, routers.APIRootView):
    """The Glance API: images, image data and metadata definitions of OpenStack Glance."""

    schema = None  # a list of links, not an operation of the API

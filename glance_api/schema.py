"""OpenAPI with drf-spectacular: the Keystone security schemes and the error answers.

``GlanceAutoSchema`` is set on the app's views, so a project that reuses the app gets
the same documentation whatever its own ``DEFAULT_SCHEMA_CLASS``.
"""

import threading

from django.conf import settings as django_settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_parameter_type
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.settings import api_settings

from . import conf


class KeystoneTokenScheme(OpenApiAuthenticationExtension):
    target_class = "glance_api.auth.KeystoneTokenAuthentication"
    name = "keystoneToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Auth-Token",
            "description": "A Keystone v3 token, scoped to a project (openstack token issue).",
        }


class KeystoneSessionScheme(OpenApiAuthenticationExtension):
    target_class = "glance_api.auth.KeystoneSessionAuthentication"
    name = "keystoneSession"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": django_settings.SESSION_COOKIE_NAME,
            "description": "A Django session from signing in with Keystone credentials "
            "(the browsable API's login page), or inside Horizon (glance_api.horizon.urls) "
            "the dashboard's own signed-in session; unsafe methods also need the CSRF "
            "token in X-CSRFToken.",
        }


ERROR = inline_serializer(
    "Error",
    {
        "detail": serializers.CharField(help_text="What went wrong, in words."),
        "code": serializers.CharField(help_text="A short machine-readable code, e.g. not_found."),
    },
)
VALIDATION_ERROR = {
    "type": "object",
    "description": "Each field (or query parameter) in error maps to its messages (a list, or "
    "for a field holding an object, messages by key); an error that concerns no single "
    "field comes as {detail, code}.",
    "additionalProperties": True,
}

ERRORS = {
    400: OpenApiResponse(VALIDATION_ERROR, description="Invalid input: the message names it"),
    401: OpenApiResponse(ERROR, description="No valid Keystone identity"),
    403: OpenApiResponse(ERROR, description="Glance's policy does not allow it"),
    404: OpenApiResponse(ERROR, description="No such resource, or not visible to the caller"),
    405: OpenApiResponse(ERROR, description="Not a method of this path"),
    406: OpenApiResponse(ERROR, description="No answer in a media type the Accept header allows"),
    409: OpenApiResponse(ERROR, description="Conflicts with the resource's state"),
    429: OpenApiResponse(
        ERROR,
        description="Too many requests: more uploads at a time than "
        "UPLOADS_PER_USER, or over a proxy's rate; Retry-After says when to "
        "try again",
    ),
    411: OpenApiResponse(ERROR, description="A chunked body this server cannot take"),
    413: OpenApiResponse(ERROR, description="Too large, or over the project's quota"),
    415: OpenApiResponse(ERROR, description="A body of a media type this path does not take"),
    501: OpenApiResponse(
        ERROR,
        description="Needs a newer Glance than the one that serves it "
        "(the message names the feature and the API version); nothing was "
        "changed",
    ),
    502: OpenApiResponse(
        ERROR, description="Glance or Keystone failed to answer (their text is not passed on)"
    ),
    503: OpenApiResponse(
        ERROR,
        description="Glance or Keystone is unreachable, restarting or "
        "failing for now (a 500 of theirs), or Glance could not validate a "
        "token Keystone takes; Retry-After says when to try again",
    ),
    504: OpenApiResponse(ERROR, description="Glance or Keystone did not answer in time"),
}
# The 404s the views declare, one per kind of thing looked up.
IMAGE_NOT_FOUND = OpenApiResponse(description="No such image, or not visible to the caller")
NAMESPACE_NOT_FOUND = OpenApiResponse(description="No such namespace, or not visible")
NAMESPACE_ITEM_NOT_FOUND = OpenApiResponse(description="No such namespace or item, or not visible")
# Refusals and missing features the views declare, one per reason (the same words
# wherever the reason is the same).
POLICY_REFUSES = OpenApiResponse(description="Glance's policy refuses it (admin only by default)")
POLICY_REFUSES_OR_PROTECTED = OpenApiResponse(
    description="Glance's policy refuses it (admin only by default), or the namespace is protected"
)
GLANCE_LACKS = OpenApiResponse(
    description="This Glance lacks the feature (its API version is "
    "older): the answer names what is missing"
)
GLANCE_LACKS_CACHE = OpenApiResponse(
    description="This Glance has no image cache API (older than 2.14), "
    "or no image cache configured: the answer says which"
)
# an upload nginx carried to Glance (glance_api.dataplane.accel)
CARRIED_TO_GLANCE = OpenApiResponse(
    description="Behind deploy/'s nginx, which streams the body to "
    "Glance: Glance's answer, with no body"
)
# Conditional requests on an image (glance_api.dataplane.conditional).
NOT_MODIFIED = OpenApiResponse(
    description="If-None-Match names the current ETag (a long-poll: nothing changed in the wait)"
)
PRECONDITION_FAILED = OpenApiResponse(
    description="If-Match names no current ETag of the "
    "image: it changed since it was read; nothing changed"
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    OpenApiParameter.HEADER,
    description="The image's ETag: a 304 while it is current",
)
PREFER_WAIT = OpenApiParameter(
    "Prefer",
    str,
    OpenApiParameter.HEADER,
    description="wait=<seconds> (RFC 7240) with If-None-Match: a long-poll. The answer "
    "comes as soon as it would differ from the ETag in If-None-Match (200), or once the "
    "wait is over with nothing changed (304); it says Preference-Applied: wait=<seconds "
    "applied> (at most the app's WATCH_MAX_WAIT). Served by the app's asynchronous "
    "server (docs: watching); a server that cannot wait answers at once, without "
    "Preference-Applied.",
)
PREFER_WAIT_WRITE = OpenApiParameter(
    "Prefer",
    str,
    OpenApiParameter.HEADER,
    description="wait=<seconds> (RFC 7240): where Glance fetches or copies the data "
    "(web-download, copy-image), answer once it is done: the image active (201 for a "
    "create, 200 for an import), 202 with Location: of its progress/ when the wait is over "
    "first, 400 (code import_failed) when the import failed, a create's image then deleted. "
    "At most the app's WATCH_MAX_WAIT; it says Preference-Applied. Served by the app's "
    "asynchronous server (docs: verified uploads); a server that cannot wait answers at "
    "once, without Preference-Applied.",
)
_DIGEST_FIELD = (
    "RFC 9530: sha-512=:<base64 of the data's SHA-512>: (or the Glance endpoint's own "
    "os_hash_algo, where it keeps sha256). After the upload it is compared with what Glance "
    "stored: a mismatch is a 400 (code digest_mismatch) and the image is deleted. Another "
    "algorithm, or a malformed field, is a 400 (codes unsupported_digest, invalid_digest) "
    "before any byte reaches Glance."
)
CONTENT_DIGEST = OpenApiParameter(
    "Content-Digest", str, OpenApiParameter.HEADER, description=_DIGEST_FIELD
)
REPR_DIGEST = OpenApiParameter(
    "Repr-Digest", str, OpenApiParameter.HEADER, description=f"{_DIGEST_FIELD} (as Content-Digest)"
)
DIGEST_REFUSED = OpenApiResponse(
    VALIDATION_ERROR,
    description="A digest field the API cannot check (codes invalid_digest, "
    "unsupported_digest; the message names the supported algorithms; nothing was sent to "
    "Glance), the data not matching it (code digest_mismatch, with image_deleted), a body "
    "cut off, bytes not of the disk format, or no such store (a map of the query "
    "parameter to its messages)",
)
IMPORT_UNDER_WAY = (
    "Prefer: wait was over before Glance was done: the image's progress document; "
    "Location: names its progress/"
)
IMPORT_FAILED = OpenApiResponse(
    VALIDATION_ERROR,
    description="Invalid input; or, with Prefer: wait, Glance's import failed (code "
    "import_failed, Glance's reason, image_deleted: a create's image is deleted)",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description="The image's ETag as read: a 412, changing nothing, if the image has changed since",
)

# Not the app's: the HTTP server's own answer (gunicorn's or nginx's page) to a request line
# longer than it takes (docs: production, --limit-request-line).
URI_TOO_LONG = {
    "description": "The request line is longer than the HTTP server takes (answered by the "
    "server itself, as an HTML page)",
    "content": {"text/html": {"schema": {"type": "string"}}},
}
_ALWAYS = (400, 401, 403, 404, 405, 406, 409, 429, 502, 503, 504)
# Which errors each method can give, beyond what an operation declares itself.
ERRORS_BY_METHOD = {
    "GET": _ALWAYS,
    "DELETE": _ALWAYS,
    "POST": (*_ALWAYS, 413, 415, 501),
    "PUT": (*_ALWAYS, 413, 415),
    "PATCH": (*_ALWAYS, 413, 415),
}
# The app's path variables, each documented once.
PATH_PARAMETERS = {
    "id": ("The image's id (a UUID).", {"type": "string", "maxLength": 255}),
    "namespace": (
        "The namespace, e.g. OS::Compute::Hypervisor.",
        {"type": "string", "maxLength": 255},
    ),
    "tag": ("The tag.", {"type": "string", "maxLength": 255}),
    "member_id": ("The member project's id.", {"type": "string", "maxLength": 255}),
}


class GlanceAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, with the error answers of every operation."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in ERRORS_BY_METHOD.get(self.method, ()):
            error = ERRORS[code]
            if str(code) in responses:  # declared by the operation: keep its words
                declared = responses[str(code)]
                if "content" not in declared:
                    described = self._get_response_for_code(error, str(code), direction=direction)
                    responses[str(code)] = {
                        **described,
                        "description": declared.get("description", ""),
                    }
                continue
            responses[str(code)] = self._get_response_for_code(
                error, str(code), direction=direction
            )
        responses.setdefault("414", URI_TOO_LONG)
        return responses

    def map_parsers(self):
        """JSON bodies only, unless an operation declares its media types itself (the
        multipart create, the octet-stream uploads). The HTML forms of the browsable API
        still post form data; documenting it would give each operation the same body
        thrice, which client generators cannot tell apart."""
        parsers = super().map_parsers()
        return ["application/json"] if "application/json" in parsers else parsers

    def _get_request_body(self, direction="request"):
        """A body of more than one media type (the JSON or multipart create) is declared
        optional: openapi-python-client generates code that does not import for a
        required one (its issue #1451). The API answers a missing body with a 400."""
        body = super()._get_request_body(direction)
        if body and len(body.get("content", {})) > 1:
            body["required"] = False
        return body

    def _map_basic_serializer(self, serializer, direction):
        """Fields named in the serializer's ``Meta.optional_fields`` may be absent from an
        answer (drf-spectacular makes every read-only field required)."""
        schema = super()._map_basic_serializer(serializer, direction)
        optional = set(getattr(getattr(serializer, "Meta", None), "optional_fields", ()))
        if optional and "required" in schema:
            schema["required"] = [name for name in schema["required"] if name not in optional]
            if not schema["required"]:
                del schema["required"]
        return schema

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(
            [v for v in variables if v not in PATH_PARAMETERS]
        )
        return parameters + [
            build_parameter_type(
                name=variable,
                location=OpenApiParameter.PATH,
                description=PATH_PARAMETERS[variable][0],
                schema=dict(PATH_PARAMETERS[variable][1]),
            )
            for variable in variables
            if variable in PATH_PARAMETERS
        ]


class SchemaView(SpectacularAPIView):
    """drf-spectacular's schema view, generating the schema once per process.

    drf-spectacular's first generation in a process is not thread-safe (concurrent
    requests to a fresh threaded server answered 500), and a generation costs about half
    a second of CPU: the schema is made under a lock and kept, per API version.
    """

    custom_settings = conf.SPECTACULAR_SETTINGS
    _lock = threading.Lock()
    _schemas: dict = {}

    def _get_version_parameter(self, request):
        """``?version=`` names a version DRF allows, or the answer is a 404: drf-spectacular
        takes any value when no versions are set, and each would be a schema built and
        kept (memory without bound, for anyone: the schema needs no token)."""
        version = request.query_params.get("version")
        if version is None:
            return None
        allowed = api_settings.ALLOWED_VERSIONS or ()
        if version not in allowed:
            raise NotFound(
                f"No API version {version[:40]!r}: this API has "
                + (f"versions {', '.join(allowed)}." if allowed else "no versions.")
            )
        return version

    def _get_schema_response(self, request):
        version = self.api_version or request.version or self._get_version_parameter(request)
        key = (version, self.serve_public, self.urlconf, tuple(self.patterns or ()))
        with self._lock:
            if key not in self._schemas:
                self._schemas[key] = super()._get_schema_response(request)
            response = self._schemas[key]
        return Response(data=response.data, headers=dict(response.items()))


# The answers of the routes a client may wait on (glance_api.watch): their headers, which
# drf-spectacular's declarations have no place for.
WAITABLE_OPERATIONS = ("images_list", "images_retrieve", "images_progress_retrieve")
_ETAG_HEADER = {
    "description": "A strong validator of this answer: send it in If-None-Match",
    "schema": {"type": "string"},
}
_PREFERENCE_APPLIED = {
    "description": "wait=<seconds applied> (RFC 7240), when the answer is a long-poll's: "
    "the wait the server granted (at most WATCH_MAX_WAIT)",
    "schema": {"type": "string", "pattern": "^wait=[0-9]+$"},
}


# The creates and imports a client may wait on (Prefer: wait), and the uploads whose
# answer says what Glance stored (Repr-Digest)
WAITABLE_WRITES = ("images_create", "images_update", "images_import_create")
UPLOADS = ("images_file_update", "uploads_update")
_LOCATION = {
    "description": "Where to follow the image: its progress/ (a 202), the image (a 201)",
    "schema": {"type": "string", "format": "uri"},
}
_REPR_DIGEST = {
    "description": "RFC 9530: the digest of the data Glance stored (its os_hash_value, "
    "sha-512=:<base64>: by default)",
    "schema": {"type": "string"},
}


def _document_write_headers(result) -> None:
    for path in result.get("paths", {}).values():
        for method in ("post", "put"):
            operation = path.get(method) or {}
            name = operation.get("operationId", "")
            if name.endswith(WAITABLE_WRITES):
                for code in ("200", "201", "202"):
                    answer = operation["responses"].get(code)
                    if answer is not None:
                        documented = answer.setdefault("headers", {})
                        documented["Preference-Applied"] = _PREFERENCE_APPLIED
                        if code != "200":
                            documented["Location"] = _LOCATION
            if name.endswith(UPLOADS) and "200" in operation.get("responses", {}):
                operation["responses"]["200"].setdefault("headers", {})["Repr-Digest"] = (
                    _REPR_DIGEST
                )


def document_wait_headers(result, generator, request, public):
    """A postprocessing hook: ETag and Preference-Applied on the 200 and 304 of each
    route a client may wait on; Preference-Applied and Location on the creates and
    imports that wait; Repr-Digest on an upload's answer."""
    _document_write_headers(result)
    for path in result.get("paths", {}).values():
        operation = path.get("get")
        # (the ids begin with the mount point's: glance_images_list under api/glance/)
        if not operation or not operation.get("operationId", "").endswith(WAITABLE_OPERATIONS):
            continue
        for code in ("200", "304"):
            answer = operation["responses"].get(code)
            if answer is not None:
                answer.setdefault("headers", {}).update(
                    {"ETag": _ETAG_HEADER, "Preference-Applied": _PREFERENCE_APPLIED}
                )
    return result

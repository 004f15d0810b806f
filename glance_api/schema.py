"""OpenAPI with drf-spectacular: the Keystone security schemes and the error answers.

``GlanceAutoSchema`` is set on the app's views, so a project that reuses the app gets
the same documentation whatever its own ``DEFAULT_SCHEMA_CLASS``.
"""

from django.conf import settings as django_settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers


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
            "(the browsable API's login page); unsafe methods also need the CSRF token "
            "in X-CSRFToken.",
        }


ERROR = inline_serializer("Error", {
    "detail": serializers.CharField(help_text="What went wrong, in words."),
    "code": serializers.CharField(help_text="A short machine-readable code, e.g. not_found."),
})
VALIDATION_ERROR = inline_serializer("ValidationError", {
    "field_name": serializers.ListField(
        child=serializers.CharField(),
        help_text="Each field (or query parameter) in error maps to its messages; errors "
        "that concern no single field come as {detail, code}.",
    ),
})

ERRORS = {
    400: OpenApiResponse(VALIDATION_ERROR, description="Invalid input: the message names it"),
    401: OpenApiResponse(ERROR, description="No valid Keystone identity"),
    403: OpenApiResponse(ERROR, description="Glance's policy does not allow it"),
    404: OpenApiResponse(ERROR, description="No such resource, or not visible to the caller"),
    409: OpenApiResponse(ERROR, description="Conflicts with the resource's state"),
    503: OpenApiResponse(ERROR, description="Glance or Keystone is unreachable"),
    504: OpenApiResponse(ERROR, description="Glance or Keystone did not answer in time"),
}
# Which errors each method can give, beyond what an operation declares itself.
ERRORS_BY_METHOD = {
    "GET": (400, 401, 403, 404, 503, 504),
    "POST": (400, 401, 403, 404, 409, 503, 504),
    "PUT": (400, 401, 403, 404, 409, 503, 504),
    "PATCH": (400, 401, 403, 404, 409, 503, 504),
    "DELETE": (401, 403, 404, 409, 503, 504),
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
                    responses[str(code)] = {**described,
                                            "description": declared.get("description", "")}
                continue
            responses[str(code)] = self._get_response_for_code(error, str(code),
                                                               direction=direction)
        return responses

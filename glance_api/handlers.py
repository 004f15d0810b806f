"""DRF's exception handler, with a ``code`` beside every ``detail``.

Failures of Glance and Keystone were logged where they were translated
(``glance_api.exceptions``), so nothing is logged here.
"""

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from rest_framework.views import exception_handler as drf_exception_handler

from .exceptions import RequestTooLarge


def exception_handler(exc, context):
    if isinstance(exc, (RequestDataTooBig, TooManyFieldsSent)):  # Django's limits on a body
        exc = RequestTooLarge(str(exc) or RequestTooLarge.default_detail)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(response.data, dict) and set(response.data) == {"detail"}:
        detail = response.data["detail"]
        response.data = {"detail": detail, "code": getattr(detail, "code", "error")}
    if isinstance(response.data, dict):  # what an error adds (a digest mismatch's image_deleted)
        response.data.update(getattr(exc, "extra", {}))
    for name, value in getattr(exc, "headers", {}).items():  # a 416's Content-Range
        response[name] = value
    return response

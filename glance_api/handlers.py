"""DRF's exception handler, with a ``code`` beside every ``detail`` and 5xx answers logged."""

import logging

from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(response.data, dict) and set(response.data) == {"detail"}:
        detail = response.data["detail"]
        response.data = {"detail": detail, "code": getattr(detail, "code", "error")}
    if response.status_code >= 500:
        view = context.get("view")
        logger.warning(
            "%s answered %s: %s", type(view).__name__, response.status_code, type(exc).__name__
        )
    return response

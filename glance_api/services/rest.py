"""Glance's plain-JSON resources (metadefs, tasks, stores, the cache), called through
glanceclient's HTTP client: its managers add nothing there but schema models.

Every value put into a path goes through :func:`glance_api.services.paths.segment`.
"""

import urllib.parse

from ..clients import GlanceClient
from ..exceptions import glance_errors


def _with_query(path: str, params: dict | None) -> str:
    return f"{path}?{urllib.parse.urlencode(params)}" if params else path


def get_json(glance: GlanceClient, path: str, params: dict | None = None) -> dict:
    """GET a Glance path, as JSON, without its ``self`` link."""
    with glance_errors():
        _, body = glance.http_client.get(_with_query(path, params))
    body.pop("self", None)
    return body


def send_json(
    glance: GlanceClient,
    method: str,
    path: str,
    body: dict | None = None,
    options: dict | None = None,
) -> dict | None:
    """POST, PUT or DELETE a Glance path with a JSON body; Glance's JSON answer, if any.
    ``options``: Glance's option headers (X-Openstack-Append, the cache's clear target)."""
    send = getattr(glance.http_client, method.lower())
    kwargs = {"headers": options} if options else {}
    if body is not None:
        kwargs["data"] = body
    with glance_errors():
        _, answer = send(path, **kwargs)
    if isinstance(answer, dict):
        answer.pop("self", None)
        return answer
    return None

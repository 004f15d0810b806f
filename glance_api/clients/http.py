"""Glance's HTTP API where glanceclient's managers fall short, through its HTTP client."""

import urllib.parse

import warlock
from django.views.decorators.debug import sensitive_variables
from glanceclient.v2.client import Client as GlanceClient
from keystoneauth1 import adapter
from rest_framework import exceptions

from ..exceptions import glance_errors, upstream_errors

# --- Glance's HTTP API where glanceclient's managers fall short -----------------------


def endpoint_of(glance: GlanceClient) -> str:
    """The Glance endpoint ``glance`` calls."""
    with upstream_errors("Glance"):
        return glance.http_client.get_endpoint()


def _with_query(path: str, params: dict | None) -> str:
    return f"{path}?{urllib.parse.urlencode(params, doseq=True)}" if params else path


def get_json(glance: GlanceClient, path: str, params: dict | None = None) -> dict:
    """GET a Glance path, as JSON, without its ``self`` link (Glance's plain-JSON
    resources: glanceclient's managers add nothing there but schema models)."""
    with glance_errors():
        _, body = glance.http_client.get(_with_query(path, params))
    body.pop("self", None)
    return body


def send_json(
    glance: GlanceClient,
    method: str,
    path: str,
    body: dict | list | None = None,
    options: dict | None = None,
) -> dict | None:
    """POST, PUT, PATCH or DELETE a Glance path with a JSON body; Glance's JSON answer, if
    any. ``options``: Glance's headers (X-Openstack-Append, the cache's clear target,
    a JSON patch's Content-Type)."""
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


def patch_image(glance: GlanceClient, image_id: str, current: dict, changes: dict, remove) -> dict:
    """Glance's answer to one PATCH of the image: the JSON patch from ``current`` to
    ``changes`` less ``remove``, built with glanceclient's own model (warlock) exactly as
    ``glance.images.update`` builds it, without that method's two GETs around it."""
    with glance_errors():
        image = glance.images.model(**current)
        for key, value in changes.items():
            try:
                setattr(image, key, value)
            except warlock.InvalidOperation as exc:
                raise exceptions.ValidationError({key: [str(exc)]}) from exc
        # As glanceclient: remove only what the image has and is not being set.
        for key in set(image).intersection(set(remove).difference(changes)):
            delattr(image, key)
    return send_json(
        glance,
        "PATCH",
        f"/v2/images/{urllib.parse.quote(image_id, safe='')}",
        image.patch,
        options={"Content-Type": "application/openstack-images-v2.1-json-patch"},
    )


def post_image_location(glance: GlanceClient, image_id: str, url: str) -> None:
    """Glance's 2.17 locations API. glanceclient before 4.7 (2024.1's 4.5, as a Horizon
    24 venv pins it) has no call for it: the same request is then made with its HTTP
    client, as the newer call makes it."""
    with glance_errors():
        if hasattr(glance.images, "add_image_location"):
            glance.images.add_image_location(image_id, url)
            return
    send_json(
        glance,
        "POST",
        f"/v2/images/{urllib.parse.quote(image_id, safe='')}/locations",
        {"url": url, "validation_data": {}},
    )


@sensitive_variables()
def ranged_get(glance: GlanceClient, image_id: str, first: int, last: int):
    """Glance's answer to a GET of the image's file with ``Range``, streamed, whatever
    its status (the caller reads 200, 206 and the errors itself).

    Through the keystoneauth adapter under glanceclient's HTTP client: glanceclient
    percent-encodes header values (``bytes%3D0-99``), which Glance cannot parse.
    """
    client = glance.http_client
    headers = {"Range": f"bytes={first}-{last}", "Accept": "application/octet-stream"}
    if getattr(client, "global_request_id", None):
        headers["X-OpenStack-Request-ID"] = client.global_request_id
    with glance_errors():
        return adapter.Adapter.request(
            client,
            f"/v2/images/{urllib.parse.quote(image_id, safe='')}/file",
            "GET",
            headers=headers,
            stream=True,
            raise_exc=False,
        )

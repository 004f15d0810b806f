"""The least any Glance proxy built from gunicorn and python-glanceclient can cost.

A WSGI application with no Django, no DRF and no token validation: ``GET
/images/<id>`` makes one glanceclient call with the caller's ``X-Auth-Token`` and
answers Glance's JSON. The benchmark serves it with the same gunicorn settings as
the API, so in the same run it shows how much of the API's cost over direct
glanceclient is the HTTP hop itself, and how much is the app's.
"""

import json
import os

import glanceclient
import requests
from glanceclient.v2.client import Client as GlanceClient
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint

GLANCE_URL = os.environ.get("BARE_PROXY_GLANCE_URL", "http://127.0.0.1:9292")


def _pooled_session() -> ks_session.Session:
    """Pooled connections and no proxy lookups, as the API's own session has."""
    http = requests.Session()
    http.trust_env = False
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=16)
    http.mount("http://", adapter)
    return ks_session.Session(session=http)


_session = _pooled_session()
_clients: dict[str, GlanceClient] = {}


def _client(token: str):
    """One reused glanceclient per token (as a long-lived direct client is)."""
    client = _clients.get(token)
    if client is None:
        client = _clients[token] = glanceclient.Client(
            "2", session=_session, auth=token_endpoint.Token(GLANCE_URL, token)
        )
    return client


def application(environ, start_response):
    token = environ.get("HTTP_X_AUTH_TOKEN", "")
    prefix, _, image_id = environ.get("PATH_INFO", "").strip("/").partition("/")
    if prefix != "images" or not image_id or not token:
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]
    try:
        body = json.dumps(dict(_client(token).images.get(image_id))).encode()
    except glanceclient.exc.HTTPException as exc:
        start_response(f"{exc.code} Error", [("Content-Length", "0")])
        return [b""]
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]

"""Client factories, and every place that reaches into glanceclient's or keystoneauth's internals.

- :func:`shared_session`: the process's keystoneauth session (one connection pool for all).
- :func:`client_for`: the caller's glanceclient, built with the caller's own token.
- :func:`image_schema`: Glance's image schema, fetched once per endpoint; each client's
  images manager reads it from there (:class:`_CachedSchemas`), so glanceclient never
  fetches it itself.
- :func:`access_body` / :func:`access_from_body`: a validated token as cacheable data.
- Glance's HTTP API where glanceclient's managers fall short, through its HTTP client:
  :func:`get_json` and :func:`send_json` (metadefs, tasks, stores, the cache),
  :func:`patch_image` (an update in one call), :func:`post_image_location` (2.17 with
  an older glanceclient), :func:`ranged_get` (a ``Range`` glanceclient would mangle),
  :func:`endpoint_of`. Every value put into a path goes through
  :func:`glance_api.services.paths.segment` or is quoted here.

What is private or internal here (the ``_data`` of keystoneauth's ``AccessInfo``, the
``schema_client`` and ``http_client`` of glanceclient, warlock's models, keystoneauth's
adapter) is used nowhere else, and ``tests/test_layout.py`` checks both that and that a
new release has not renamed it.
"""

from glanceclient.v2.client import Client as GlanceClient

from .glance import (
    KEPT_TOKENS,
    SCHEMA_SECONDS,
    _CachedSchemas,
    access_body,
    access_from_body,
    client_for,
    forget_image_schemas,
    forget_kept,
    glance_endpoint,
    image_schema,
    seen_endpoints,
)
from .http import (
    endpoint_of,
    get_json,
    patch_image,
    post_image_location,
    ranged_get,
    send_json,
)
from .session import STALE_CONNECTION_RETRY, shared_session

__all__ = [
    "KEPT_TOKENS",
    "SCHEMA_SECONDS",
    "STALE_CONNECTION_RETRY",
    "GlanceClient",
    "_CachedSchemas",
    "access_body",
    "access_from_body",
    "client_for",
    "endpoint_of",
    "forget_image_schemas",
    "forget_kept",
    "get_json",
    "glance_endpoint",
    "image_schema",
    "patch_image",
    "post_image_location",
    "ranged_get",
    "seen_endpoints",
    "send_json",
    "shared_session",
]

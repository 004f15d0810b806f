"""The process's keystoneauth session: one pool of connections to Keystone and Glance for
every caller, with its retry of stale connections and its idle limit."""

import logging
import threading
import time

import requests
from keystoneauth1 import session as ks_session
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from .. import requestlog
from ..conf import settings

# --- the process's keystoneauth session -------------------------------------------


class _StaleConnectionRetry(Retry):
    """urllib3's Retry, except that a read timeout is final (waiting twice helps no one)."""

    def increment(self, *args, error=None, **kwargs):
        if isinstance(error, ReadTimeoutError):
            raise error
        return super().increment(*args, error=error, **kwargs)


# A pooled connection the server closed while idle (gunicorn's keep-alive is 2 s) fails
# on its next use before any answer: try once more on a new connection. Only methods
# without a body, so an upload stream is never sent twice.
STALE_CONNECTION_RETRY = _StaleConnectionRetry(
    total=1,
    connect=1,
    read=1,
    status=0,
    other=0,
    redirect=0,
    allowed_methods=frozenset({"GET", "HEAD", "DELETE"}),
    raise_on_status=False,
)

# Longest a pooled connection is used again after its last answer. A server closes an
# idle keep-alive connection on its own clock (gunicorn after 2 s, Apache after 5): a
# request sent as it does so is reset, and a POST or PATCH cannot be sent again safely
# (the retry above is for methods without a body). Under every usual server's limit.
IDLE_CONNECTION_SECONDS = 1.0


class _FreshConnections:
    """urllib3's connection pool (urllib3's private ``_get_conn`` and ``_put_conn``; a test
    fails if urllib3 renames them), where a connection idle past
    IDLE_CONNECTION_SECONDS is closed instead of used: urllib3 then opens it anew."""

    def _get_conn(self, timeout=None):
        conn = super()._get_conn(timeout)
        idle_since = getattr(conn, "glance_api_idle_since", None)
        if idle_since is not None and time.monotonic() - idle_since > IDLE_CONNECTION_SECONDS:
            conn.close()
        return conn

    def _put_conn(self, conn) -> None:
        if conn is not None:
            conn.glance_api_idle_since = time.monotonic()
        super()._put_conn(conn)


class _FreshHTTPConnectionPool(_FreshConnections, HTTPConnectionPool):
    pass


class _FreshHTTPSConnectionPool(_FreshConnections, HTTPSConnectionPool):
    pass


class _Adapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _FreshHTTPConnectionPool,
            "https": _FreshHTTPSConnectionPool,
        }


_session_lock = threading.Lock()
_session: ks_session.Session | None = None
_session_options: tuple | None = None


# A line per call to Keystone or Glance, at DEBUG: method, URL, status, time.
logger = logging.getLogger("glance_api.upstream")


class _Session(ks_session.Session):
    """keystoneauth's session: every call carries the id of the request it serves (the
    global request id), and calls to Glance are counted for the request log.

    keystoneauth's own logging is off (``log=False``): at DEBUG it writes every answer's
    body, and an image list of 1,000 is 1.5 MB, decoded and formatted on every call (in
    a Horizon with DEBUG on, whose settings call ``logging.basicConfig(level=DEBUG)``,
    the images panel's list took five times as long as on Horizon's own API). The app
    logs one line per call instead (``glance_api.upstream``), never a header or a body.
    """

    def request(self, url, method, **kwargs):
        if kwargs.get("global_request_id") is None:
            kwargs["global_request_id"] = requestlog.request_id()
        kwargs.setdefault("log", False)
        to_glance = (kwargs.get("endpoint_filter") or {}).get("service_type") == "image"
        start = time.perf_counter()
        response = None
        try:
            response = super().request(url, method, **kwargs)
        finally:
            took = time.perf_counter() - start
            if to_glance:
                requestlog.count_glance_call(took)
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s %s: %s in %.1f ms",
                    method,
                    response.url if response is not None else url,
                    response.status_code if response is not None else "no answer",
                    took * 1000,
                )
        if not response.ok and not _json_errors_glanceclient_reads(response):
            # glanceclient reads a JSON error as {name: {"message": ...}}; any other JSON
            # would crash it (an AttributeError: a 500): it gets the body as text instead
            response.headers["Content-Type"] = "text/plain"
        return response


def _json_errors_glanceclient_reads(response) -> bool:
    """Whether ``response`` is not JSON, or JSON of the shape glanceclient's error
    handling (``glanceclient.exc.from_response``) reads without failing."""
    if "json" not in response.headers.get("Content-Type", ""):
        return True
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and all(isinstance(item, dict) for item in body.values())


def shared_session() -> ks_session.Session:
    """The process's keystoneauth session: pooled connections, no auth plugin of its own.

    Callers pass their own ``auth`` per call (see :func:`client_for`), so one pool of
    HTTP connections serves every caller. Rebuilt if the TLS, timeout, pool or
    environment settings change.
    """
    global _session, _session_options
    options = (settings.verify, settings.TIMEOUT, settings.POOL_MAXSIZE, settings.TRUST_ENV)
    with _session_lock:
        if _session is None or options != _session_options:
            http = requests.Session()
            http.trust_env = settings.TRUST_ENV
            adapter = _Adapter(
                pool_maxsize=settings.POOL_MAXSIZE, max_retries=STALE_CONNECTION_RETRY
            )
            http.mount("http://", adapter)
            http.mount("https://", adapter)
            _session = _Session(session=http, verify=settings.verify, timeout=settings.TIMEOUT)
            _session_options = options
        return _session

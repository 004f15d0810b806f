"""The rest of a request body the answer did not need, read off the connection.

A view may answer before it reads the body: a 401, 404 or 409 to an upload, a 413. The
server must then take the rest off the connection before it can read the next request
there. gunicorn's threaded worker reads at most 64 KiB of it and, past that, closes the
connection after an answer that said ``keep-alive``. A proxy that keeps its connections to
the app (nginx's upstream ``keepalive``) may send the next request down that connection
before it sees the close, and answers that request 502 and counts an error against the
instance (issue 21). So the app reads the rest itself before it answers, within
``DRAIN_MAX_BYTES`` and ``DRAIN_SECONDS``; past either it stops, and the server closes
the connection as before.

Only where each read can be bounded: where the server gives the app its socket
(gunicorn), whose time-out is set to the time left, or where the body is already in
memory or in a file (Django's test client, an ASGI server). Elsewhere (mod_wsgi, uWSGI)
a read could wait for the server's own read time-out while a client trickles its body,
holding the thread: the body is left to the server, which closes the connection.

Views of the app do it as they answer (``glance_api.views.base``);
:class:`DrainRequestBodyMiddleware` does it for the rest of a project (Django's own 404s,
its admin, the sign-in form).
"""

import logging
import socket
import time

from .conf import settings
from .middleware import BothModesMiddleware

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024


def body_stream(request):
    """What is left of a Django request's body, to read: Django's stream (bounded by
    Content-Length), or the server's own input where the server ends a chunked body itself
    (``wsgi.input_terminated``, as gunicorn does), else None: no body, or a chunked one
    this server cannot end (Django reads none of a body without a Content-Length). The
    one place the app finds a body's bytes: uploads read it
    (:func:`glance_api.parsers.upload_body`), draining drops it."""
    if request.META.get("CONTENT_LENGTH", "").isdigit():
        return request._stream
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    if chunked and request.META.get("wsgi.input_terminated"):
        return request.META["wsgi.input"]
    return None


def _buffered(raw) -> bool:
    """Whether the server's input is a body already read (in memory, in a file: it can
    seek), or there is none (an ASGI request: Django read its body before the view)."""
    if raw is None:
        return True
    try:
        return bool(raw.seekable())
    except Exception:  # no seekable(), or it fails: a stream off the connection
        return False


def drain(request) -> int:
    """Read and drop what is left of ``request``'s body (a Django request); the bytes read.

    Reads at most ``DRAIN_MAX_BYTES``, for at most ``DRAIN_SECONDS``: where the server
    gives the app its socket (gunicorn), each read waits no longer than the time left, so
    a client that trickles its body cannot hold the thread; where it gives neither its
    socket nor a buffered body, nothing is read.
    """
    if getattr(request, "_body_drained", False):
        return 0
    request._body_drained = True
    stream = body_stream(request)
    if stream is None:
        return 0
    sock = request.META.get("gunicorn.socket")
    sock = sock if isinstance(sock, socket.socket) else None
    if sock is None and not _buffered(request.META.get("wsgi.input")):
        logger.debug("left an unneeded request body to the server: no socket to time reads on")
        return 0
    prior = sock.gettimeout() if sock else None
    deadline = time.monotonic() + settings.DRAIN_SECONDS
    limit, read = settings.DRAIN_MAX_BYTES, 0
    try:
        while read < limit:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if sock:
                sock.settimeout(left)
            chunk = stream.read(min(CHUNK, limit - read))
            if not chunk:
                return read
            read += len(chunk)
        reason = "DRAIN_MAX_BYTES" if read >= limit else "DRAIN_SECONDS"
    except Exception as exc:  # a time-out, the client gone, a chunk malformed: stop there
        reason = f"{type(exc).__name__}: {exc}"
    finally:
        if sock:
            try:
                sock.settimeout(prior)
            except OSError:
                pass
    logger.info(
        "stopped reading an unneeded request body (Content-Length %s) after %d "
        "bytes (%s): the server closes the connection",
        request.META.get("CONTENT_LENGTH") or "none",
        read,
        reason,
    )
    return read


class DrainRequestBodyMiddleware(BothModesMiddleware):
    """Reads what the answer left of a request body before the answer goes (see above).
    Under ASGI there is nothing to do (the server hands the app the whole body): it
    passes requests on in the event loop."""

    def handle(self, request):
        response = self.get_response(request)
        drain(request)
        return response

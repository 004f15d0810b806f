"""What an answer left of a request body is read off the connection (glance_api.draining).

The connection-level behaviour (gunicorn keeping the connection, nginx's 502s without
it) is in test_stack; these check what is read, and how much at most, with no server.
"""

import io
import uuid

import pytest
from django.core.handlers.wsgi import WSGIRequest
from django.test import Client
from django.test.client import RequestFactory

from glance_api import draining


def request_with(
    body: bytes, *, length: int | None = None, chunked: bool = False, terminated: bool = False
) -> tuple[WSGIRequest, io.BytesIO]:
    stream = io.BytesIO(body)
    environ = RequestFactory()._base_environ(
        **{
            "REQUEST_METHOD": "PUT",
            "wsgi.input": stream,
            "CONTENT_TYPE": "application/octet-stream",
        }
    )
    if length is not None:
        environ["CONTENT_LENGTH"] = str(length)
    if chunked:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = terminated
    return WSGIRequest(environ), stream


def test_the_rest_of_a_body_is_read_and_no_more():
    body = b"a" * 200_000
    request, stream = request_with(body + b"NEXT REQUEST", length=len(body))
    assert request.read(1000) == b"a" * 1000  # what the view read
    assert draining.drain(request) == len(body) - 1000
    assert stream.read() == b"NEXT REQUEST"  # Content-Length bounds it
    assert draining.drain(request) == 0  # once per request


def test_at_most_drain_max_bytes_are_read(settings):
    settings.GLANCE_API = {"DRAIN_MAX_BYTES": 100_000}
    request, stream = request_with(b"b" * 300_000, length=300_000)
    assert draining.drain(request) == 100_000
    assert stream.tell() == 100_000


def test_a_chunked_body_is_read_where_the_server_ends_it_and_left_elsewhere():
    request, stream = request_with(b"c" * 5000, chunked=True, terminated=True)
    assert draining.drain(request) == 5000
    request, stream = request_with(b"c" * 5000, chunked=True, terminated=False)
    assert draining.drain(request) == 0 and stream.tell() == 0


def test_a_body_that_breaks_off_stops_the_reading():
    class Broken(io.BytesIO):
        def read(self, size=-1):
            raise OSError("connection reset")

    environ = RequestFactory()._base_environ(
        **{"REQUEST_METHOD": "PUT", "wsgi.input": Broken(), "CONTENT_LENGTH": "10"}
    )
    assert draining.drain(WSGIRequest(environ)) == 0


@pytest.mark.parametrize("path", [f"/api/glance/images/{uuid.uuid4()}/file/", "/no-such-page/"])
def test_a_refusal_reads_the_body_it_did_not_need(path):
    """A 401 of the app (a view), a 404 of Django's (the middleware)."""
    body = b"d" * 300_000
    stream = io.BytesIO(body)
    answer = Client().put(
        path, data=body, content_type="application/octet-stream", **{"wsgi.input": stream}
    )
    assert answer.status_code in (401, 404)
    assert stream.tell() == len(body)


# --- no drain that could wait on a socket it cannot time ---------------------------------
# (security review three, finding 7)


def test_without_the_servers_socket_a_trickled_body_is_left_to_the_server():
    """mod_wsgi or uWSGI: the input is a stream off the connection, and no socket is
    given; a client that sends nothing more does not hold the thread."""
    import socket
    import time

    from django.core.handlers.wsgi import WSGIRequest
    from django.test.client import RequestFactory

    from glance_api import draining

    server_side, client_side = socket.socketpair()
    server_side.settimeout(3)  # (without the fix, the read waits this long)
    client_side.sendall(b"x" * 10)  # of 1,000,000: the client trickles, then stops
    with server_side, client_side, server_side.makefile("rb") as stream:
        environ = RequestFactory()._base_environ(
            REQUEST_METHOD="PUT", CONTENT_LENGTH="1000000", **{"wsgi.input": stream}
        )
        started = time.monotonic()
        assert draining.drain(WSGIRequest(environ)) == 0
        assert time.monotonic() - started < 1

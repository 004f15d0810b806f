"""Hands long-polls to :mod:`glance_api.watch.waits` under an ASGI server.

Under WSGI it only passes requests on: a WSGI server would hold a thread for each wait, so
there a wait is not applied (RFC 7240 lets a server ignore a preference): the view
answers at once, without ``Preference-Applied``. Creates and imports that wait
(:mod:`glance_api.watch.creates`) are handed on the same way. Every middleware before this one must
run in the event loop (Django's own do; the app's do), else Django runs the rest in a
thread and a wait would hold it.
"""

from django.urls import Resolver404, resolve

from ..middleware import BothModesMiddleware
from . import creates, waits


class WatchMiddleware(BothModesMiddleware):
    async def ahandle(self, request):
        seconds = waits.wanted_wait(request)
        if seconds is not None:
            match = _resolve(request)
            if match is not None and waits.waitable(match):
                request.resolver_match = match
                return await waits.serve(request, match, seconds, self.get_response)
        seconds = creates.wanted_wait(request)
        if seconds is not None:
            match = _resolve(request)
            if match is not None and creates.waitable(match, request.method):
                request.resolver_match = match
                return await creates.serve(request, match, seconds, self.get_response)
        return await self.get_response(request)


def _resolve(request):
    try:
        return resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return None

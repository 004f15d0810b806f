"""What the app's middleware share: they run in the server's mode, in its event loop under
ASGI (where a waiting request must hold no thread, ``glance_api.watch``) and plainly
under WSGI (where nothing is added to each request's cost)."""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction


class BothModesMiddleware:
    """Subclasses give ``handle(request)`` (WSGI) and ``ahandle(request)`` (ASGI)."""

    sync_capable = async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self.ahandle(request)
        return self.handle(request)

    def handle(self, request):
        return self.get_response(request)

    async def ahandle(self, request):
        return await self.get_response(request)

"""Watching images (docs: watching): long-polls and the event stream, served in the
event loop of an ASGI server, with Glance polled once per endpoint, project and query
across every instance (``hub``)."""

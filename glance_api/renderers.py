"""Renderers for answers that are not JSON."""

import json

from rest_framework.renderers import BaseRenderer


class OctetStreamRenderer(BaseRenderer):
    """Lets a client ask for ``application/octet-stream`` (image bytes).

    The bytes come as a streaming response that bypasses rendering; what is rendered
    here is only an error, which is written as JSON.
    """

    media_type = "application/octet-stream"
    format = "bin"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        return json.dumps(data).encode()

"""Renderers: JSON through orjson, image bytes, and the browsable API."""

import json

import orjson
from rest_framework import renderers
from rest_framework.renderers import BaseRenderer
from rest_framework.utils.encoders import JSONEncoder

_drf_encoder = JSONEncoder()


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON renderer, encoding with orjson: the same bytes as DRF's compact UTF-8
    output (``COMPACT_JSON``, ``UNICODE_JSON``), faster on long lists.

    What orjson does not encode natively (lazy translations, ``Decimal``, dates: DRF's
    formats) goes through DRF's own encoder; an indented answer (``indent=`` in the
    Accept header, the browsable API) and what orjson refuses (an integer beyond 64
    bits, a key that is not a string) are DRF's own rendering.
    """

    _options = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if (self.get_indent(accepted_media_type, renderer_context or {}) is None
                and self.compact and not self.ensure_ascii):
            try:
                rendered = orjson.dumps(data, default=_drf_encoder.default,
                                        option=self._options)
            except (orjson.JSONEncodeError, TypeError):
                pass
            else:
                # DRF escapes these two so that the JSON is also valid JavaScript.
                if b"\xe2\x80\xa8" in rendered or b"\xe2\x80\xa9" in rendered:
                    rendered = rendered.replace(b"\xe2\x80\xa8", b"\\u2028").replace(
                        b"\xe2\x80\xa9", b"\\u2029")
                return rendered
        return super().render(data, accepted_media_type, renderer_context)


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


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's browsable API, with an HTML form for PATCH where a view has no PUT.

    DRF draws HTML forms for POST and PUT only; the API updates with PATCH, so the
    detail pages would offer only raw JSON. Here the "HTML form" tab submits a PATCH.
    A view's ``browsable_links(data)`` adds links to related pages (each image of a list;
    an image's properties, file, members and tags), and the pages say "Glance API".
    """

    template = "glance_api/api.html"

    def get_context(self, data, accepted_media_type, renderer_context):
        context = super().get_context(data, accepted_media_type, renderer_context)
        view, request = renderer_context["view"], renderer_context["request"]
        allowed = getattr(view, "allowed_methods", ())
        if not context.get("put_form") and "PATCH" in allowed and "PUT" not in allowed:
            context["put_form"] = self.get_rendered_html_form(data, view, "PATCH", request)
            context["patch_html_form"] = bool(context["put_form"])
        links = getattr(view, "browsable_links", None)
        context["links"] = links(data) if links and context["response"].status_code < 400 else []
        return context


RENDERERS = [JSONRenderer, BrowsableAPIRenderer]

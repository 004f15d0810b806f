"""Renderers for answers that are not JSON."""

import json

from rest_framework import renderers
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


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's browsable API, with an HTML form for PATCH where a view has no PUT.

    DRF draws HTML forms for POST and PUT only; the API updates with PATCH, so the
    detail pages would offer only raw JSON. Here the "HTML form" tab submits a PATCH.
    A view's ``browsable_links(data)`` adds links to related pages (each image of a list;
    an image's properties, file, members and tags), and the pages say "Glance API".
    """

    template = "glance_api/api.html"

    def get_breadcrumbs(self, request):
        """DRF's, each level once: a route answers with and without its trailing slash,
        and DRF listed both ("Images / Images")."""
        crumbs = []
        for name, url in super().get_breadcrumbs(request):
            if crumbs and crumbs[-1][1].rstrip("/") == url.rstrip("/"):
                crumbs[-1] = (name, url if url.endswith("/") else crumbs[-1][1])
                continue
            crumbs.append((name, url))
        return crumbs

    def get_context(self, data, accepted_media_type, renderer_context):
        context = super().get_context(data, accepted_media_type, renderer_context)
        view, request = renderer_context["view"], renderer_context["request"]
        if (
            getattr(view, "suffix", None) == "Instance"
            and isinstance(data, dict)
            and isinstance(data.get("name"), str)
        ):  # one thing: its name too ("Image demo-private-raw")
            context["name"] = f"{context['name']} {data['name']}"
            crumbs = context["breadcrumblist"]
            if crumbs:
                crumbs[-1] = (context["name"], crumbs[-1][1])
        allowed = getattr(view, "allowed_methods", ())
        if not context.get("put_form") and "PATCH" in allowed and "PUT" not in allowed:
            context["put_form"] = self.get_rendered_html_form(data, view, "PATCH", request)
            context["patch_html_form"] = bool(context["put_form"])
        links = getattr(view, "browsable_links", None)
        context["links"] = links(data) if links and context["response"].status_code < 400 else []
        return context


RENDERERS = [renderers.JSONRenderer, BrowsableAPIRenderer]

"""Content negotiation: DRF's own, with its answers remembered."""

from rest_framework.negotiation import DefaultContentNegotiation


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's content negotiation, remembering its answers in this process.

    The answer depends only on the Accept header, the format asked for (``.json`` or
    ``?format=json``) and the view's renderer classes; parsing and matching the Accept
    header again on every request was about an eighth of the app's own time per request.
    At most ``size`` answers are kept, since the Accept header is the client's to
    choose; a refusal (406, or 404 for an unknown format) is never kept.
    """

    size = 256
    _known: dict[tuple, tuple[int, str]] = {}

    def select_renderer(self, request, renderers, format_suffix=None):
        format_ = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        key = (request.META.get("HTTP_ACCEPT"), format_, tuple(map(type, renderers)))
        known = self._known.get(key)
        if known is None:
            renderer, media_type = super().select_renderer(request, renderers, format_suffix)
            known = (renderers.index(renderer), media_type)
            if len(self._known) < self.size:
                self._known[key] = known
        index, media_type = known
        return renderers[index], media_type

    @classmethod
    def forget(cls) -> None:
        """Drop every remembered answer (as a restart would)."""
        cls._known.clear()

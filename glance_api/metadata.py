"""``OPTIONS``: DRF's metadata, for views that have no queryset."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.metadata import SimpleMetadata
from rest_framework.request import clone_request


class GlanceMetadata(SimpleMetadata):
    """DRF's ``SimpleMetadata``, describing the fields each of POST, PUT and PATCH takes.

    DRF's own looks the object up for PUT (``get_object``, which needs a queryset); here
    the form is the one of the action that the method routes to, and nothing is fetched.
    """

    def determine_actions(self, request, view):
        actions = {}
        action_map = getattr(view, "action_map", None) or {}
        original_action = getattr(view, "action", None)
        for method in ("POST", "PUT", "PATCH"):
            if method not in view.allowed_methods:
                continue
            view.request = clone_request(request, method)
            view.action = action_map.get(method.lower(), original_action)
            try:
                view.check_permissions(view.request)
                serializer = view.get_serializer()
            except (exceptions.APIException, PermissionDenied, Http404):
                continue
            finally:
                view.request, view.action = request, original_action
            actions[method] = self.get_serializer_info(serializer)
        return actions

"""``healthz/`` and ``readyz/``: for load balancers, with no token."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import health
from ..renderers import RENDERERS
from ..schema import GlanceAutoSchema
from .base import PrivateAnswersMixin

STATE = inline_serializer("Health", {"status": serializers.CharField()})
READINESS = inline_serializer(
    "Readiness",
    {
        "status": serializers.CharField(help_text='"ready" or "not ready".'),
        "checks": serializers.DictField(
            child=serializers.CharField(), help_text='Each dependency: "ok" or what is wrong.'
        ),
    },
)


class HealthView(PrivateAnswersMixin, APIView):
    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    renderer_classes = RENDERERS
    schema = GlanceAutoSchema()


class LivenessView(HealthView):
    @extend_schema(tags=["health"], auth=[], responses={200: STATE})
    def get(self, request):
        """The process answers (nothing upstream is asked)."""
        return Response({"status": "ok"})


class ReadinessView(HealthView):
    @extend_schema(
        tags=["health"],
        auth=[],
        responses={
            200: READINESS,
            503: OpenApiResponse(READINESS, description="Something is not ready"),
        },
    )
    def get(self, request):
        """Keystone, Glance and the cache are reachable; a 503 names what is not."""
        checks = health.readiness()
        ready = all(state == "ok" for state in checks.values())
        return Response(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status=200 if ready else 503,
        )

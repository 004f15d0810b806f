"""Metadata definitions: namespaces (in full, as the dashboard lists them) and resource types."""

from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response

from .. import services
from ..serializers import (
    NamespaceListQuerySerializer,
    NamespaceQuerySerializer,
    NamespaceSerializer,
    ResourceTypeQuerySerializer,
    ResourceTypeSerializer,
)
from .base import GlanceViewSet


@extend_schema(tags=["metadefs"])
class NamespaceViewSet(GlanceViewSet):
    """Metadata definition namespaces, in full, as the dashboard lists them."""

    serializer_class = NamespaceSerializer
    lookup_field = "namespace"

    def browsable_links(self, data) -> list[tuple[str, str]]:
        if self.action == "list" and isinstance(data, dict):
            return [(item["namespace"], self.reverse_action("detail", args=[item["namespace"]]))
                    for item in data.get("items", []) if "namespace" in item]
        return []

    @extend_schema(parameters=[NamespaceListQuerySerializer])
    def list(self, request):
        """Namespaces with their properties and objects."""
        query = self.query(NamespaceListQuerySerializer, also_known=self.paginator.query_params)
        options = query.validated_data
        page = services.list_namespaces(
            self.glance, self.paginator.page_request(request),
            scope=services.visibility_scope(request.auth), filters=query.filters(),
            sort_key=options["sort_key"], sort_dir=options["sort_dir"],
            resource_type=options.get("resource_type"),
            properties_target=options.get("properties_target"),
        )
        return self.paginator.get_paginated_response(
            NamespaceSerializer(page.items, many=True).data, page)

    @extend_schema(
        parameters=[NamespaceQuerySerializer],
        responses={200: NamespaceSerializer,
                   404: OpenApiResponse(description="No such namespace, or not visible")},
    )
    def retrieve(self, request, namespace=None):
        """One namespace, its property names prefixed for ``resource_type`` if given."""
        query = self.query(NamespaceQuerySerializer)
        resource_type = query.validated_data.get("resource_type")
        namespace = services.get_namespace(self.glance, namespace, resource_type)
        return Response(NamespaceSerializer(namespace).data)


@extend_schema_serializer(many=False)
class ResourceTypeListSerializer(serializers.Serializer):
    items = ResourceTypeSerializer(many=True, read_only=True)


@extend_schema(tags=["metadefs"])
class ResourceTypeViewSet(GlanceViewSet):
    serializer_class = ResourceTypeSerializer
    pagination_class = None  # Glance gives them all at once

    @extend_schema(parameters=[ResourceTypeQuerySerializer],
                   responses={200: ResourceTypeListSerializer})
    def list(self, request):
        """Resource types of metadata definitions; parameters filter on their fields."""
        query = self.query(ResourceTypeQuerySerializer)
        items = services.list_resource_types(self.glance, query.filters())
        return Response(ResourceTypeListSerializer({"items": items}).data)

"""Metadata definitions: namespaces (in full, as the dashboard lists them; written from
a whole document, as its "Import Namespace") and resource types."""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import status
from rest_framework.response import Response
from rest_framework.reverse import reverse

from .. import services
from ..schema import NAMESPACE_NOT_FOUND, POLICY_REFUSES_OR_PROTECTED
from ..serializers import (
    NamespaceDocumentSerializer,
    NamespaceListQuerySerializer,
    NamespaceQuerySerializer,
    NamespaceSerializer,
    NamespaceUpdateSerializer,
    ResourceTypeListSerializer,
    ResourceTypeQuerySerializer,
    ResourceTypeSerializer,
)
from .base import GlanceViewSet


@extend_schema(tags=["metadefs"])
class NamespaceViewSet(GlanceViewSet):
    """Metadata definition namespaces, in full, as the dashboard lists them."""

    serializer_class = NamespaceSerializer
    lookup_field = "namespace"
    form_serializers = {"create": NamespaceDocumentSerializer, "update": NamespaceUpdateSerializer}

    def get_serializer_class(self):
        return self.form_serializers.get(self.action, NamespaceSerializer)

    def browsable_links(self, data) -> list[tuple[str, str]]:
        if self.action == "list" and isinstance(data, dict):
            return [
                (item["namespace"], self.reverse_action("detail", args=[item["namespace"]]))
                for item in data.get("items", [])
                if "namespace" in item
            ]
        if self.action == "retrieve" and isinstance(data, dict) and "namespace" in data:
            prefix = self.request.resolver_match.namespace
            prefix = f"{prefix}:" if prefix else ""
            return [
                (
                    title,
                    reverse(
                        f"{prefix}namespace-{kind}-list",
                        args=[data["namespace"]],
                        request=self.request,
                    ),
                )
                for title, kind in (
                    ("Objects", "objects"),
                    ("Properties", "properties"),
                    ("Tags", "tags"),
                    ("Resource types", "resourcetypes"),
                )
            ]
        return []

    @extend_schema(parameters=[NamespaceListQuerySerializer])
    def list(self, request):
        """Namespaces with their properties and objects."""
        query = self.query(NamespaceListQuerySerializer, also_known=self.paginator.query_params)
        options = query.validated_data
        page = services.list_namespaces(
            self.glance,
            self.paginator.page_request(request),
            scope=services.visibility_scope(request.auth),
            filters=query.filters(),
            sort_key=options["sort_key"],
            sort_dir=options["sort_dir"],
            resource_type=options.get("resource_type"),
            properties_target=options.get("properties_target"),
        )
        return self.paginator.get_paginated_response(
            NamespaceSerializer(page.items, many=True).data, page
        )

    @extend_schema(
        parameters=[NamespaceQuerySerializer],
        responses={
            200: NamespaceSerializer,
            404: OpenApiResponse(description="No such namespace, or not visible"),
        },
    )
    def retrieve(self, request, namespace=None):
        """One namespace, its property names prefixed for ``resource_type`` if given."""
        query = self.query(NamespaceQuerySerializer)
        resource_type = query.validated_data.get("resource_type")
        namespace = services.get_namespace(self.glance, namespace, resource_type)
        return Response(NamespaceSerializer(namespace).data)

    @extend_schema(
        request=NamespaceDocumentSerializer,
        responses={
            201: NamespaceSerializer,
            403: POLICY_REFUSES_OR_PROTECTED,
            409: OpenApiResponse(description="A namespace of that name exists"),
        },
        examples=[
            OpenApiExample(
                "Import a namespace",
                request_only=True,
                value={
                    "namespace": "OS::Example::Watchdog",
                    "display_name": "Watchdog",
                    "description": "How the watchdog acts",
                    "visibility": "public",
                    "protected": False,
                    "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "hw_"}],
                    "properties": {
                        "watchdog_action": {
                            "title": "Watchdog action",
                            "type": "string",
                            "enum": ["disabled", "reset", "poweroff", "pause", "none"],
                        }
                    },
                    "objects": [],
                    "tags": [{"name": "watchdog"}],
                },
            )
        ],
    )
    def create(self, request):
        """Create a namespace from a whole document: its own fields, resource-type
        associations, properties, objects and tags, in one call."""
        document = NamespaceDocumentSerializer(data=request.data)
        document.is_valid(raise_exception=True)
        namespace = services.create_namespace(self.glance, document.validated_data)
        return Response(
            NamespaceSerializer(namespace).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": self.reverse_action("detail", args=[namespace["namespace"]])},
        )

    @extend_schema(
        request=NamespaceUpdateSerializer,
        responses={
            200: NamespaceSerializer,
            403: POLICY_REFUSES_OR_PROTECTED,
            404: NAMESPACE_NOT_FOUND,
            409: OpenApiResponse(description="The new name is taken"),
        },
        examples=[
            OpenApiExample(
                "Make it public and protected",
                request_only=True,
                value={"visibility": "public", "protected": True},
            )
        ],
    )
    def update(self, request, namespace=None):
        """Replace the namespace's own fields (name, display name, description, visibility,
        protected); its contents and owner stay."""
        fields = NamespaceUpdateSerializer(data=request.data)
        fields.is_valid(raise_exception=True)
        updated = services.update_namespace(self.glance, namespace, fields.validated_data)
        return Response(NamespaceSerializer(updated).data)

    @extend_schema(
        responses={204: None, 403: POLICY_REFUSES_OR_PROTECTED, 404: NAMESPACE_NOT_FOUND}
    )
    def destroy(self, request, namespace=None):
        """Delete the namespace, with its objects, properties and tags."""
        services.delete_namespace(self.glance, namespace)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["metadefs"])
class ResourceTypeViewSet(GlanceViewSet):
    serializer_class = ResourceTypeSerializer
    pagination_class = None  # Glance gives them all at once

    @extend_schema(
        parameters=[ResourceTypeQuerySerializer], responses={200: ResourceTypeListSerializer}
    )
    def list(self, request):
        """Resource types of metadata definitions; parameters filter on their fields."""
        query = self.query(ResourceTypeQuerySerializer)
        items = services.list_resource_types(
            self.glance, services.visibility_scope(request.auth), query.filters()
        )
        return Response(ResourceTypeListSerializer({"items": items}).data)

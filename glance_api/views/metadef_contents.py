"""What a metadata-definition namespace holds: objects, properties, tags, and its
resource-type associations. Writes are admin-only by Glance's default policy."""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.response import Response

from .. import services
from ..schema import NAMESPACE_ITEM_NOT_FOUND, POLICY_REFUSES
from ..serializers import (
    ObjectSerializer,
    PropertySerializer,
    ResourceTypeAssociationSerializer,
    TagSerializer,
    TagsSerializer,
)
from .base import GlanceViewSet

EXISTS = OpenApiResponse(description="One of that name exists in the namespace")


def _list_of(name: str, item) -> serializers.Serializer:
    """``{"items": [...]}`` of ``item``, as one object (not the list a list action's is)."""
    return extend_schema_serializer(many=False)(
        type(name, (serializers.Serializer,), {"items": item(many=True, read_only=True)})
    )


class NamespaceContentsViewSet(GlanceViewSet):
    """One kind of a namespace's contents (``kind``: Glance's word in its URLs)."""

    kind: str
    item_serializer: type[serializers.Serializer]
    pagination_class = None
    lookup_field = "name"

    def get_serializer_class(self):
        return self.item_serializer

    def valid(self, serializer_class=None) -> dict:
        serializer = (serializer_class or self.item_serializer)(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def browsable_links(self, data) -> list[tuple[str, str]]:
        if self.action == "list" and isinstance(data, dict):
            namespace = self.kwargs["namespace"]
            return [
                (item["name"], self.reverse_action("detail", args=[namespace, item["name"]]))
                for item in data.get("items", [])
                if "name" in item
            ]
        return []

    def list(self, request, namespace=None):
        return Response({"items": services.list_items(self.glance, namespace, self.kind)})

    def create(self, request, namespace=None):
        item = services.create_item(self.glance, namespace, self.kind, self.valid())
        return Response(item, status=status.HTTP_201_CREATED)

    def destroy(self, request, namespace=None, name=None):
        services.delete_item(self.glance, namespace, self.kind, name)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EditableContentsViewSet(NamespaceContentsViewSet):
    """Contents that are also read and replaced one by one."""

    def retrieve(self, request, namespace=None, name=None):
        return Response(services.get_item(self.glance, namespace, self.kind, name))

    def update(self, request, namespace=None, name=None):
        return Response(services.update_item(self.glance, namespace, self.kind, name, self.valid()))


def _documented(item, list_name: str, what: str, examples: list, **overrides):
    """The OpenAPI description of a contents viewset's routes (``overrides``: per action)."""
    documented = {
        "list": extend_schema(
            summary=f"The namespace's {what}",
            responses={200: _list_of(list_name, item), 404: NAMESPACE_ITEM_NOT_FOUND},
        ),
        "create": extend_schema(
            summary=f"Add one of the namespace's {what}",
            request=item,
            examples=examples,
            responses={201: item, 403: POLICY_REFUSES, 404: NAMESPACE_ITEM_NOT_FOUND, 409: EXISTS},
        ),
        "retrieve": extend_schema(
            summary=f"One of the namespace's {what}",
            responses={200: item, 404: NAMESPACE_ITEM_NOT_FOUND},
        ),
        "update": extend_schema(
            summary=f"Replace one of the namespace's {what}",
            request=item,
            examples=examples,
            responses={200: item, 403: POLICY_REFUSES, 404: NAMESPACE_ITEM_NOT_FOUND, 409: EXISTS},
        ),
        "destroy": extend_schema(
            summary=f"Delete one of the namespace's {what}",
            responses={204: None, 403: POLICY_REFUSES, 404: NAMESPACE_ITEM_NOT_FOUND},
        ),
    }
    documented.update(overrides)
    return lambda viewset: extend_schema_view(
        **{action: schema for action, schema in documented.items() if hasattr(viewset, action)}
    )(viewset)


def _example(name: str, value: dict) -> list:
    return [OpenApiExample(name, request_only=True, value=value)]


@extend_schema(tags=["metadefs"])
@_documented(
    ObjectSerializer,
    "MetadefObjectList",
    "objects",
    _example(
        "An object",
        {
            "name": "Watchdog",
            "description": "What the watchdog does",
            "properties": {
                "action": {
                    "title": "Action",
                    "type": "string",
                    "enum": ["reset", "poweroff", "none"],
                }
            },
            "required": ["action"],
        },
    ),
)
class MetadefObjectViewSet(EditableContentsViewSet):
    kind = "objects"
    item_serializer = ObjectSerializer


@extend_schema(tags=["metadefs"])
@_documented(
    PropertySerializer,
    "MetadefPropertyList",
    "properties",
    _example(
        "A property",
        {
            "name": "cpu_cores",
            "title": "CPU cores",
            "type": "integer",
            "minimum": 1,
            "maximum": 64,
            "description": "How many cores",
        },
    ),
)
class MetadefPropertyViewSet(EditableContentsViewSet):
    plural_name = "Metadef Properties"

    kind = "properties"
    item_serializer = PropertySerializer


@extend_schema(tags=["metadefs"])
@_documented(
    TagSerializer,
    "MetadefTagList",
    "tags",
    _example("Rename", {"name": "ssd"}),
    create=extend_schema(
        summary="Tags at once: instead of the namespace's, or added to them (append)",
        request=TagsSerializer,
        examples=_example("Add two", {"tags": [{"name": "ssd"}, {"name": "fast"}], "append": True}),
        responses={
            201: _list_of("MetadefTagsCreated", TagSerializer),
            403: POLICY_REFUSES,
            404: NAMESPACE_ITEM_NOT_FOUND,
            409: EXISTS,
        },
    ),
)
class MetadefTagViewSet(EditableContentsViewSet):
    kind = "tags"
    item_serializer = TagSerializer

    def get_serializer_class(self):
        return TagsSerializer if self.action == "create" else TagSerializer

    def create(self, request, namespace=None):
        tags = self.valid(TagsSerializer)
        items = services.create_tags(
            self.glance, namespace, [t["name"] for t in tags["tags"]], append=tags["append"]
        )
        return Response({"items": items}, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Add one tag",
        request=None,
        operation_id=("glance_metadefs_namespaces_tags_create_one"),
        responses={
            201: TagSerializer,
            403: POLICY_REFUSES,
            404: NAMESPACE_ITEM_NOT_FOUND,
            409: EXISTS,
        },
    )
    def create_one(self, request, namespace=None, name=None):
        return Response(
            services.create_tag(self.glance, namespace, name), status=status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="Delete all the namespace's tags",
        operation_id=("glance_metadefs_namespaces_tags_destroy_all"),
        responses={204: None, 403: POLICY_REFUSES, 404: NAMESPACE_ITEM_NOT_FOUND},
    )
    def destroy_all(self, request, namespace=None):
        services.delete_all_tags(self.glance, namespace)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["metadefs"])
@_documented(
    ResourceTypeAssociationSerializer,
    "ResourceTypeAssociationList",
    "resource-type associations",
    _example("With a prefix", {"name": "OS::Nova::Flavor", "prefix": "hw:"}),
)
class NamespaceResourceTypeViewSet(NamespaceContentsViewSet):
    kind = "resource_types"
    item_serializer = ResourceTypeAssociationSerializer

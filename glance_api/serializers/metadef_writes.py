"""What the metadata-definition writes take: a whole namespace document, a namespace's own
fields, objects, properties, tags and resource-type associations.

Fields are checked here as far as the API's own contract goes (which names, which types);
what a property definition may hold beyond its name, title and type (enum, minimum,
items, operators, ...) is Glance's JSON Schema, which Glance checks and names in its 400.
A key nobody knows is refused here, by name.
"""

from rest_framework import serializers

VISIBILITIES = ("public", "private")
PROPERTY_TYPES = ("array", "boolean", "integer", "number", "object", "string")
# Glance's column sizes (glance.db.sqlalchemy.models_metadef)
NAME_LENGTH = 80


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not declare (a 400 naming each), unless ``passes_through``."""

    passes_through = False

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        unknown = (
            sorted(set(data) - set(self.fields) - {"csrfmiddlewaretoken"})
            if isinstance(data, dict)
            else []
        )  # the browsable API's forms
        if unknown and not self.passes_through:
            raise serializers.ValidationError(
                {key: ["Not a field of this resource."] for key in unknown}
            )
        if self.passes_through:  # Glance's schema checks the rest
            value.update({key: data[key] for key in unknown})
        return value


class ResourceTypeAssociationSerializer(StrictSerializer):
    name = serializers.CharField(max_length=NAME_LENGTH, help_text="e.g. OS::Glance::Image")
    prefix = serializers.CharField(
        max_length=NAME_LENGTH,
        required=False,
        allow_blank=True,
        help_text="Prefix of the property names, e.g. hw_",
    )
    properties_target = serializers.CharField(
        max_length=NAME_LENGTH,
        required=False,
        allow_blank=True,
        help_text="Where the properties go on the resource, e.g. image or scheduler_hints",
    )


class TagSerializer(StrictSerializer):
    name = serializers.CharField(max_length=NAME_LENGTH)


class TagsSerializer(StrictSerializer):
    """Several tags at once: instead of the namespace's, or added to them (``append``)."""

    tags = TagSerializer(many=True, allow_empty=False)
    append = serializers.BooleanField(
        default=False, help_text="true: add to the namespace's tags; false: replace them"
    )


class PropertySerializer(StrictSerializer):
    """A property definition: name, title and type; the rest of its JSON Schema (enum,
    default, minimum, items, operators, ...) as Glance's metadefs schema allows."""

    passes_through = True

    name = serializers.CharField(max_length=NAME_LENGTH)
    title = serializers.CharField(max_length=NAME_LENGTH)
    type = serializers.ChoiceField(PROPERTY_TYPES)
    description = serializers.CharField(required=False, allow_blank=True)


class ObjectSerializer(StrictSerializer):
    name = serializers.CharField(max_length=NAME_LENGTH)
    description = serializers.CharField(required=False, allow_blank=True)
    required = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Names of the properties an instance must have",
    )
    properties = serializers.DictField(
        child=serializers.DictField(),
        required=False,
        help_text="Property definitions by name, as for a namespace's properties",
    )


class NamespaceFieldsSerializer(StrictSerializer):
    """A namespace's own fields."""

    namespace = serializers.CharField(
        max_length=NAME_LENGTH, help_text="Its name, e.g. OS::Compute::Watchdog"
    )
    display_name = serializers.CharField(max_length=NAME_LENGTH, required=False, allow_blank=True)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    visibility = serializers.ChoiceField(VISIBILITIES, required=False)
    protected = serializers.BooleanField(required=False, help_text="true: it cannot be deleted")


class NamespaceUpdateSerializer(NamespaceFieldsSerializer):
    """A namespace's own fields, for PUT: those given are set, those left out keep their
    values (without ``namespace``, its name stays)."""

    namespace = serializers.CharField(
        max_length=NAME_LENGTH, required=False, help_text="A new name; absent: the name stays"
    )


class NamespaceDocumentSerializer(NamespaceFieldsSerializer):
    """A whole namespace, as the dashboard's "Import Namespace" takes it (the JSON files
    of Glance's ``etc/metadefs``)."""

    resource_type_associations = ResourceTypeAssociationSerializer(many=True, required=False)
    properties = serializers.DictField(
        child=serializers.DictField(), required=False, help_text="Property definitions by name"
    )
    objects = ObjectSerializer(many=True, required=False)
    tags = TagSerializer(many=True, required=False)

"""Image data: the interoperable import's body (uploads and downloads are raw bytes)."""

from rest_framework import serializers

from .images import http_url

IMPORT_METHODS = ("glance-direct", "web-download", "copy-image")


class ImageImportSerializer(serializers.Serializer):
    """POST images/{id}/import/: Glance's interoperable image import."""

    method = serializers.ChoiceField(
        IMPORT_METHODS,
        help_text="glance-direct: data staged with PUT stage/; web-download: Glance fetches "
        "uri; copy-image: copy an active image's data to more stores.",
    )
    uri = serializers.URLField(required=False, help_text="http(s) URL (web-download only).")
    stores = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Store ids to import into (see info/stores/).",
    )
    all_stores = serializers.BooleanField(
        required=False, default=False, help_text="Import into every store."
    )
    all_stores_must_succeed = serializers.BooleanField(
        required=False,
        default=True,
        help_text="false: the import succeeds if at least one store took the data.",
    )

    def validate_uri(self, value: str) -> str:
        return http_url(value)

    def validate(self, attrs):
        method = attrs["method"]
        if method == "web-download" and not attrs.get("uri"):
            raise serializers.ValidationError({"uri": ["Required for method web-download."]})
        if method != "web-download" and attrs.get("uri"):
            raise serializers.ValidationError({"uri": [f"Only for web-download, not {method}."]})
        if attrs.get("stores") and attrs["all_stores"]:
            raise serializers.ValidationError({"stores": ["Give stores or all_stores, not both."]})
        if method == "copy-image" and not (attrs.get("stores") or attrs["all_stores"]):
            raise serializers.ValidationError(
                {"stores": ["copy-image needs the stores to copy to (or all_stores)."]}
            )
        return attrs


class UploadQuerySerializer(serializers.Serializer):
    store = serializers.CharField(
        required=False,
        max_length=255,
        help_text="The store to upload into (one of info/stores/); else Glance's default",
    )

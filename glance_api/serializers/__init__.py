"""Shapes of what the API takes and gives, one module per resource; all re-exported here."""

from .discovery import VersionSerializer
from .image_data import IMPORT_METHODS, ImageImportSerializer
from .images import (
    CONTAINER_FORMATS,
    DISK_FORMATS,
    PSEUDO_DISK_FORMATS,
    SOURCE_TYPES,
    VISIBILITIES,
    CreatedImageSerializer,
    ImageCreateSerializer,
    ImageDetailSerializer,
    ImageFieldsSerializer,
    ImageSerializer,
    ImageUpdateSerializer,
    ImageUploadSerializer,
    http_url,
)
from .metadefs import NamespaceSerializer, ResourceTypeSerializer
from .properties import (
    BASE_ATTRIBUTES,
    EXTENDED_ATTRIBUTES,
    GLANCE_OWNED,
    ImagePropertiesSerializer,
    custom_properties,
    is_glance_owned,
    typed_value,
)
from .queries import (
    ImageListQuerySerializer,
    NamespaceListQuerySerializer,
    NamespaceQuerySerializer,
    ResourceTypeQuerySerializer,
)
from .sharing import MEMBER_STATUSES, MemberSerializer, MemberStatusSerializer

__all__ = [
    "BASE_ATTRIBUTES", "CONTAINER_FORMATS", "CreatedImageSerializer", "DISK_FORMATS",
    "EXTENDED_ATTRIBUTES", "GLANCE_OWNED", "IMPORT_METHODS", "ImageCreateSerializer",
    "ImageDetailSerializer", "ImageFieldsSerializer", "ImageImportSerializer",
    "ImageListQuerySerializer", "ImagePropertiesSerializer", "ImageSerializer",
    "ImageUpdateSerializer", "ImageUploadSerializer", "MEMBER_STATUSES", "MemberSerializer",
    "MemberStatusSerializer",
    "NamespaceListQuerySerializer", "NamespaceQuerySerializer", "NamespaceSerializer",
    "PSEUDO_DISK_FORMATS", "ResourceTypeQuerySerializer", "ResourceTypeSerializer",
    "SOURCE_TYPES", "VISIBILITIES", "VersionSerializer", "custom_properties", "http_url",
    "is_glance_owned", "typed_value",
]

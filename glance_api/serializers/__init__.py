"""Shapes of what the API takes and gives, one module per resource; all re-exported here."""

from .discovery import VersionSerializer
from .image_cache import (
    CachedImageSerializer,
    ClearCacheQuerySerializer,
    ImageCacheStateSerializer,
)
from .image_creates import ImageCreateSerializer, ImageUploadSerializer
from .image_data import IMPORT_METHODS, ImageImportSerializer, UploadQuerySerializer
from .images import (
    CONTAINER_FORMATS,
    DISK_FORMATS,
    PSEUDO_DISK_FORMATS,
    SOURCE_TYPES,
    VISIBILITIES,
    CreatedImageSerializer,
    ImageDetailSerializer,
    ImageFieldsSerializer,
    ImageSerializer,
    ImageUpdateSerializer,
    http_url,
)
from .metadef_writes import (
    NamespaceDocumentSerializer,
    NamespaceUpdateSerializer,
    ObjectSerializer,
    PropertySerializer,
    ResourceTypeAssociationSerializer,
    TagSerializer,
    TagsSerializer,
)
from .metadefs import NamespaceSerializer, ResourceTypeListSerializer, ResourceTypeSerializer
from .progress import ImageProgressSerializer
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
from .tasks import ImageTaskListSerializer, ImageTaskSerializer

__all__ = [
    "BASE_ATTRIBUTES",
    "CONTAINER_FORMATS",
    "DISK_FORMATS",
    "EXTENDED_ATTRIBUTES",
    "GLANCE_OWNED",
    "IMPORT_METHODS",
    "MEMBER_STATUSES",
    "PSEUDO_DISK_FORMATS",
    "SOURCE_TYPES",
    "VISIBILITIES",
    "CachedImageSerializer",
    "ClearCacheQuerySerializer",
    "CreatedImageSerializer",
    "ImageCacheStateSerializer",
    "ImageCreateSerializer",
    "ImageDetailSerializer",
    "ImageFieldsSerializer",
    "ImageImportSerializer",
    "ImageListQuerySerializer",
    "ImagePropertiesSerializer",
    "ImageSerializer",
    "ImageTaskListSerializer",
    "ImageProgressSerializer",
    "ImageTaskSerializer",
    "ImageUpdateSerializer",
    "ImageUploadSerializer",
    "MemberSerializer",
    "MemberStatusSerializer",
    "NamespaceDocumentSerializer",
    "NamespaceListQuerySerializer",
    "NamespaceQuerySerializer",
    "NamespaceSerializer",
    "NamespaceUpdateSerializer",
    "ObjectSerializer",
    "PropertySerializer",
    "ResourceTypeAssociationSerializer",
    "ResourceTypeListSerializer",
    "ResourceTypeQuerySerializer",
    "ResourceTypeSerializer",
    "TagSerializer",
    "TagsSerializer",
    "UploadQuerySerializer",
    "VersionSerializer",
    "custom_properties",
    "http_url",
    "is_glance_owned",
    "typed_value",
]

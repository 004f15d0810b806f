"""The API's views: thin DRF ViewSets that validate, call ``services`` and serialize.

One module per resource; ``ImageViewSet`` (``images``) gathers the image routes written in
``image_data``, ``tasks``, ``stores`` and ``sharing``. Everything is re-exported here.
"""

from .accel import UploadAuthorizationView
from .base import APIRootView, GlanceViewSet, KeystoneAPIMixin
from .discovery import InfoViewSet, SchemaViewSet, VersionViewSet
from .health import LivenessView, ReadinessView
from .image_cache import ImageCacheViewSet
from .image_data import BYTES_RENDERERS
from .images import ImageViewSet
from .metadef_contents import (
    MetadefObjectViewSet,
    MetadefPropertyViewSet,
    MetadefTagViewSet,
    NamespaceResourceTypeViewSet,
)
from .metadefs import NamespaceViewSet, ResourceTypeViewSet
from .uploads import UploadView

__all__ = [
    "UploadAuthorizationView",
    "BYTES_RENDERERS",
    "APIRootView",
    "GlanceViewSet",
    "ImageCacheViewSet",
    "ImageViewSet",
    "InfoViewSet",
    "KeystoneAPIMixin",
    "LivenessView",
    "MetadefObjectViewSet",
    "MetadefPropertyViewSet",
    "MetadefTagViewSet",
    "NamespaceResourceTypeViewSet",
    "NamespaceViewSet",
    "ReadinessView",
    "ResourceTypeViewSet",
    "SchemaViewSet",
    "UploadView",
    "VersionViewSet",
]

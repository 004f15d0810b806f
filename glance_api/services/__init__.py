"""Glance, through python-glanceclient: the only package that calls it.

Each function takes the caller's client (``glance_api.clients.client_for``), returns plain
data, and raises API errors (``glance_api.exceptions`` and DRF's), never glanceclient's.
One module per resource; everything is re-exported here.
"""

from ..clients import GlanceClient, client_for
from .discovery import get_version, image_schema, import_info, stores_info, usage_info
from .image_data import (
    CountingReader,
    ImageData,
    IncompleteBody,
    can_inspect_formats,
    download_image,
    import_image,
    stage_image,
    upload_image,
)
from .images import (
    StepFailed,
    create_image,
    deactivate_image,
    delete_image,
    get_image,
    list_images,
    reactivate_image,
    update_image,
)
from .metadefs import get_namespace, list_namespaces, list_resource_types, visibility_scope
from .sharing import (
    add_member,
    add_tag,
    get_member,
    list_members,
    remove_member,
    remove_tag,
    update_member,
)
from .streaming import (
    SpooledUpload,
    StreamedUpload,
    complete_streamed_image,
    detect_disk_format,
)

__all__ = [
    "CountingReader", "GlanceClient", "ImageData", "IncompleteBody", "StepFailed",
    "SpooledUpload", "StreamedUpload", "can_inspect_formats", "complete_streamed_image",
    "detect_disk_format",
    "add_member", "add_tag", "client_for", "create_image", "deactivate_image", "delete_image",
    "download_image", "get_image", "get_member", "get_namespace", "get_version",
    "image_schema", "import_image", "import_info", "list_images", "list_members",
    "list_namespaces", "list_resource_types", "reactivate_image", "remove_member",
    "remove_tag", "stage_image", "stores_info", "update_image", "update_member",
    "upload_image", "usage_info", "visibility_scope",
]

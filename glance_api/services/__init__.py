"""Glance, through python-glanceclient: the only package that calls it.

Each function takes the caller's client (``glance_api.clients.client_for``), returns plain
data, and raises API errors (``glance_api.exceptions`` and DRF's), never glanceclient's.
One module per resource; everything is re-exported here.
"""

from ..clients import GlanceClient, client_for
from ..exceptions import IncompleteBody
from .discovery import get_version, image_schema, import_info, stores_info, usage_info
from .image_cache import cache_state, clear_cache, queue_image, uncache_image
from .image_data import (
    ImageData,
    download_image,
    import_image,
    require_queued,
    stage_image,
    upload_image,
)
from .images import (
    StepFailed,
    create_image,
    deactivate_image,
    delete_image,
    get_image,
    images_by_id,
    list_images,
    reactivate_image,
    update_image,
)
from .inspection import (
    HEAD_BYTES,
    CountingReader,
    app_must_inspect,
    can_inspect_formats,
    detect_disk_format,
)
from .metadef_writes import (
    create_item,
    create_namespace,
    create_tag,
    create_tags,
    delete_all_tags,
    delete_item,
    delete_namespace,
    get_item,
    list_items,
    update_item,
    update_namespace,
)
from .metadefs import get_namespace, list_namespaces, list_resource_types, visibility_scope
from .progress import image_progress, progress_document, project_progress
from .search import find_images, search_images
from .sharing import (
    add_member,
    add_tag,
    get_member,
    list_members,
    remove_member,
    remove_tag,
    update_member,
)
from .stores import delete_from_store, require_store, stores_detail
from .streaming import (
    SpooledUpload,
    StreamedUpload,
    complete_streamed_image,
    start_multipart_upload,
)
from .tasks import list_image_tasks
from .verification import discard_image, endpoint_hash_algo, requested_digests

__all__ = [
    "HEAD_BYTES",
    "app_must_inspect",
    "require_queued",
    "CountingReader",
    "GlanceClient",
    "ImageData",
    "IncompleteBody",
    "SpooledUpload",
    "StepFailed",
    "StreamedUpload",
    "add_member",
    "add_tag",
    "cache_state",
    "can_inspect_formats",
    "clear_cache",
    "client_for",
    "complete_streamed_image",
    "create_image",
    "create_item",
    "create_namespace",
    "create_tag",
    "create_tags",
    "deactivate_image",
    "delete_all_tags",
    "delete_from_store",
    "delete_image",
    "delete_item",
    "delete_namespace",
    "discard_image",
    "detect_disk_format",
    "download_image",
    "endpoint_hash_algo",
    "get_image",
    "images_by_id",
    "get_item",
    "get_member",
    "get_namespace",
    "get_version",
    "image_schema",
    "import_image",
    "import_info",
    "list_image_tasks",
    "image_progress",
    "progress_document",
    "project_progress",
    "list_images",
    "list_items",
    "list_members",
    "list_namespaces",
    "list_resource_types",
    "find_images",
    "search_images",
    "queue_image",
    "reactivate_image",
    "remove_member",
    "remove_tag",
    "require_store",
    "requested_digests",
    "stage_image",
    "start_multipart_upload",
    "stores_detail",
    "stores_info",
    "uncache_image",
    "update_image",
    "update_item",
    "update_member",
    "update_namespace",
    "upload_image",
    "usage_info",
    "visibility_scope",
]

"""An image's tasks (Glance API 2.12): why an import failed, how far a copy got."""

from ..clients import GlanceClient, get_json
from .discovery import require_version
from .paths import segment


def list_image_tasks(glance: GlanceClient, image_id: str) -> list[dict]:
    """The image's tasks, newest first. Raises NotFound, or GlanceLacksFeature (501)."""
    require_version(glance, "2.12", "2021.1 (Wallaby)", "An image's tasks")
    tasks = get_json(glance, f"/v2/images/{segment(image_id, 'image id')}/tasks")["tasks"]
    return sorted(tasks, key=lambda task: task.get("created_at") or "", reverse=True)

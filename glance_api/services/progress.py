"""Where an image stands: the progress document of ``images/{id}/progress/``.

Every field comes from Glance: the image, its newest task (API 2.12 and later; ``null``
before) and, for a staged image, the import methods the endpoint enables. Nothing is
guessed: ``bytes_done`` is what Glance's copy writes into its task's message ("Copied N
MiB"), else null.
"""

import re
from datetime import UTC, datetime

from rest_framework.exceptions import NotFound

from ..clients import GlanceClient, get_json
from ..conf import settings
from ..exceptions import GlanceLacksFeature
from .discovery import import_info
from .images import get_image
from .tasks import list_image_tasks

MIB = 1024 * 1024
# what glance.async_.flows.api_image_import writes as a copy goes (2024.1 and later)
_COPIED = re.compile(r"^Copied (\d+) MiB$")
TASK_FIELDS = ("id", "type", "status", "message", "updated_at")
# statuses in which an image waits for something someone must do
WAITING = frozenset({"queued", "uploading"})


def image_progress(glance: GlanceClient, image_id: str) -> dict:
    image = get_image(glance, image_id)
    try:
        tasks = list_image_tasks(glance, image_id)
    except GlanceLacksFeature:  # before 2.12: no tasks to tell
        tasks = []
    methods = None
    if image.get("status") == "uploading":
        methods = import_info(glance).get("import-methods", {}).get("value", [])
    return progress_document(image, tasks, methods)


# statuses after which nothing goes on unless someone acts (a copy shows in importing_to)
SETTLED = frozenset({"active", "killed", "deactivated", "deleted", "pending_delete"})
PAGE = 1000  # Glance's largest page (api_limit_max's default)


def project_progress(glance: GlanceClient, previous: dict[str, dict]) -> dict[str, dict]:
    """The progress document of every image the caller's list shows (Glance's default
    visibility), by id: one list call per thousand images, and an image's tasks only
    where they may have moved (an import or a copy going on, or an image that changed
    since ``previous``, the documents of the last call)."""
    images, marker = [], None
    while True:
        params = {"limit": PAGE, **({"marker": marker} if marker else {})}
        page = get_json(glance, "/v2/images", params)["images"]
        images.extend(page)
        if len(page) < PAGE:
            break
        marker = page[-1]["id"]
    documents = {}
    for image in images:
        before = previous.get(image["id"])
        # a task moves only while an import or a copy goes (Glance writes its progress
        # there, not in the image); it starts and ends with a change of the image
        moving = image.get("status") == "importing" or image.get("os_glance_importing_to_stores")
        changed = before is not None and before.get("updated_at") != image.get("updated_at")
        if moving or changed:
            try:
                tasks = list_image_tasks(glance, image["id"])
            except (GlanceLacksFeature, NotFound):  # no tasks; or gone since the list
                tasks = []
        else:  # as it was (or not asked: an image that has not moved since it was seen)
            tasks = [before["task"]] if before and before.get("task") else []
        methods = None
        if image.get("status") == "uploading":
            methods = import_info(glance).get("import-methods", {}).get("value", [])
        documents[image["id"]] = progress_document(image, tasks, methods)
    return documents


def _stores(value) -> list[str]:
    return [store for store in (value or "").split(",") if store]


def progress_document(
    image: dict, tasks: list[dict], import_methods: list[str] | None, now: datetime | None = None
) -> dict:
    """The document, from Glance's image, its tasks (newest first) and, for a staged
    image, the endpoint's import methods (None when not asked)."""
    newest = tasks[0] if tasks else None
    task = {field: newest.get(field) for field in TASK_FIELDS} if newest else None
    reason = stall_reason(image, task, import_methods, now or datetime.now(UTC))
    return {
        "id": image["id"],
        "status": image.get("status"),
        "size": image.get("size"),
        "stores": _stores(image.get("stores")),
        "importing_to": _stores(image.get("os_glance_importing_to_stores")),
        "failed_stores": _stores(image.get("os_glance_failed_import")),
        "task": task,
        "bytes_done": bytes_done(task),
        "stalled": reason is not None,
        "stall_reason": reason,
        "updated_at": image.get("updated_at"),
    }


def bytes_done(task: dict | None) -> int | None:
    match = _COPIED.match((task or {}).get("message") or "")
    return int(match.group(1)) * MIB if match else None


def _parse_time(value: str | None) -> datetime | None:
    """Glance's time, UTC whether or not it says so (its tasks' times do not)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


def stall_reason(
    image: dict, task: dict | None, import_methods: list[str] | None, now: datetime
) -> str | None:
    """Why nothing more will happen to the image without someone acting, or None."""
    if task and task.get("status") == "failure":
        return (
            f"Its {task.get('type') or ''} task failed: {task.get('message') or 'no reason given'}"
        )
    status = image.get("status")
    if (
        status == "uploading"
        and import_methods is not None
        and "glance-direct" not in import_methods
    ):
        return (
            "Its data is staged, but this Glance does not enable the glance-direct import "
            f"method that would import it (it enables: {', '.join(import_methods) or 'none'})."
        )
    if status in WAITING and (task is None or task.get("status") not in ("pending", "processing")):
        times = [_parse_time(image.get("updated_at")), _parse_time((task or {}).get("updated_at"))]
        last = max((t for t in times if t is not None), default=None)
        idle = (now - last).total_seconds() if last else 0
        if idle >= settings.STALL_SECONDS:  # said without the seconds: the same until it changes
            doing = "uploads its data" if status == "queued" else "imports its staged data"
            return (
                f"{status.capitalize()} with nothing happening since {last:%Y-%m-%dT%H:%M:%SZ} "
                f"(over {settings.STALL_SECONDS} s): nobody {doing}."
            )
    return None

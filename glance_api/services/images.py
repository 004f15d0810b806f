"""Images: list, read, create, update, delete, deactivate and reactivate."""

import itertools
import logging
import time
import urllib.parse
from typing import IO

from rest_framework import exceptions

from ..clients import GlanceClient, get_json, patch_image, post_image_location
from ..conf import settings
from ..exceptions import UPSTREAM_EXCEPTIONS, GatewayTimeout, UpstreamError, glance_errors
from ..identifiers import is_uuid
from ..pagination import Page, PageRequest, unknown_marker
from .discovery import require_version

logger = logging.getLogger(__name__)


def list_images(
    glance: GlanceClient, page: PageRequest, *, filters: dict, sort_key: str, sort_dir: str
) -> Page:
    """A page of images as the dashboard pages them, or every image up to ``page.fetch``.

    :raises ValidationError: the marker is not an image the caller can see.
    """
    kwargs = {"filters": filters, "sort_key": sort_key, "sort_dir": page.sort_dir(sort_dir)}
    if page.marker and not is_uuid(page.marker):  # image ids are UUIDs
        raise unknown_marker(page.marker, "id")
    if page.marker:
        kwargs["marker"] = page.marker
    try:
        with glance_errors():  # pages are fetched lazily: iterate inside the block
            images = [
                dict(image)
                for image in itertools.islice(
                    glance.images.list(page_size=page.fetch, limit=page.fetch, **kwargs),
                    page.fetch,
                )
            ]
    except exceptions.APIException as exc:
        if page.marker and exc.status_code == 400 and not _is_image(glance, page.marker):
            raise unknown_marker(page.marker, "id") from exc
        raise
    return page.cut(images)


def images_by_id(glance: GlanceClient, image_ids: list[str]) -> dict[str, dict]:
    """The images of ``image_ids`` the caller can see (each as ``get_image`` gives it),
    by id: one list call per hundred ids (Glance's ``id=in:``, every visibility and
    member status, as a GET of each would see them). An id missing from the answer is
    an image that is gone, or hidden from the caller."""
    found = {}
    ids = [image_id for image_id in image_ids if is_uuid(image_id)]
    for start in range(0, len(ids), 100):
        chunk = ids[start : start + 100]
        params = {
            "id": "in:" + ",".join(chunk),
            "visibility": "all",
            "member_status": "all",
            "limit": len(chunk),
        }
        for image in get_json(glance, "/v2/images", params)["images"]:
            image.pop("self", None)
            found[image["id"]] = image
    return found


def _is_image(glance: GlanceClient, image_id: str) -> bool:
    try:
        get_image(glance, image_id)
    except exceptions.NotFound:
        return False
    return True


def get_image(glance: GlanceClient, image_id: str) -> dict:
    """One image. Raises NotFound (also for a malformed id) or PermissionDenied.

    Glance's JSON as it is: ``glance.images.get`` gives the same, less ``self``, after
    building a schema model of it (a tenth of a millisecond of every image read)."""
    return get_json(glance, f"/v2/images/{urllib.parse.quote(image_id, safe='')}")


class StepFailed(exceptions.APIException):
    """A step after the image was created failed; the image was deleted again."""

    def __init__(self, step: str, cause: exceptions.APIException):
        self.status_code = cause.status_code
        detail = cause.detail if isinstance(cause.detail, str) else str(cause.detail)
        code = cause.get_codes()
        super().__init__(
            f"The image was created, but {step} failed, so it was deleted again: {detail}",
            code if isinstance(code, str) else "error",
        )


def create_image(
    glance: GlanceClient,
    attributes: dict,
    *,
    location: str | None = None,
    web_download: str | None = None,
    data: IO[bytes] | None = None,
    size: int | None = None,
) -> dict:
    """Create an image, then add its location, import it or upload its data.

    If a step after the creation fails, the new image is deleted again and the error
    (:class:`StepFailed`) says which step it was.
    """
    if location:  # before anything is created
        require_version(
            glance,
            "2.17",
            "2024.2",
            "Keeping an image URL as the image's location (Glance's locations API)",
        )
    with glance_errors():
        image = glance.images.create(**attributes)
    image_id = image["id"]
    steps = []
    if location:
        steps.append(
            (
                "adding the image URL as its location",
                lambda: _add_location(glance, image_id, location),
            )
        )
    if web_download:
        steps.append(
            (
                "importing the image from its URL (web-download)",
                lambda: glance.images.image_import(image_id, "web-download", uri=web_download),
            )
        )
    if data is not None:
        steps.append(
            (
                "uploading the image data",
                lambda: glance.images.upload(image_id, data, image_size=size),
            )
        )
    for step, call in steps:
        try:
            with glance_errors():
                call()
        except exceptions.APIException as exc:
            discard_new_image(glance, image_id)
            raise StepFailed(step, exc) from exc
    if steps:
        return get_image(glance, image_id)
    return dict(image)


def _add_location(glance: GlanceClient, image_id: str, url: str) -> None:
    """Glance's v2.17 locations API: Glance reads the URL in a task of its own, then the
    image turns active; if it cannot, the task ends and the image stays queued."""
    post_image_location(glance, image_id, url)
    deadline = time.monotonic() + settings.TIMEOUT
    while True:
        image = get_image(glance, image_id)
        if image["status"] == "active":
            return
        if image["status"] != "queued" or not image.get("os_glance_import_task"):
            raise UpstreamError(
                400, "Glance could not read the image from its URL.", code="invalid"
            )
        if time.monotonic() > deadline:
            raise GatewayTimeout("Glance did not finish reading the image URL in time.")
        time.sleep(0.1)


def discard_new_image(glance: GlanceClient, image_id: str) -> None:
    """Delete an image this API has just created, after a later step failed; a failure
    to delete is logged, not raised (the step's error is what the caller needs)."""
    try:
        glance.images.delete(image_id)
    except UPSTREAM_EXCEPTIONS:
        logger.warning("Could not delete image %s after a failed create", image_id)


def update_image(
    glance: GlanceClient,
    image_id: str,
    changes: dict,
    remove: list[str] | None = None,
    *,
    current: dict,
) -> dict:
    """Set ``changes`` on an image and remove the ``remove`` properties; the new image.

    ``current`` is the image as the caller just read it (:func:`get_image`). The JSON
    patch is built from it with glanceclient's own model, exactly as
    ``glance.images.update`` builds it, but without that method's two GETs around the
    PATCH: Glance answers the PATCH with the updated image. So an update is one call
    here, and two with the caller's read.
    """
    return patch_image(glance, image_id, current, changes, remove or ())


def delete_image(glance: GlanceClient, image_id: str) -> None:
    """Delete an image. Raises NotFound, or PermissionDenied (e.g. a protected image)."""
    with glance_errors():
        glance.images.delete(image_id)


def deactivate_image(glance: GlanceClient, image_id: str) -> None:
    """Deactivate an image. Raises NotFound, PermissionDenied or GlanceConflict."""
    with glance_errors():
        glance.images.deactivate(image_id)


def reactivate_image(glance: GlanceClient, image_id: str) -> None:
    """Reactivate a deactivated image. Raises NotFound, PermissionDenied or GlanceConflict."""
    with glance_errors():
        glance.images.reactivate(image_id)

"""Sharing and labelling an image: its members (projects) and its tags.

glanceclient pastes tags and member ids into its URLs as they are: each goes as one path
segment (:func:`.paths.segment`), so that no value changes which Glance endpoint is called.
"""

from ..clients import GlanceClient
from ..exceptions import glance_errors
from .paths import segment


def add_tag(glance: GlanceClient, image_id: str, tag: str) -> None:
    with glance_errors():
        glance.image_tags.update(image_id, segment(tag, "tag"))


def remove_tag(glance: GlanceClient, image_id: str, tag: str) -> None:
    with glance_errors():
        glance.image_tags.delete(image_id, segment(tag, "tag"))


def list_members(glance: GlanceClient, image_id: str) -> list[dict]:
    with glance_errors():
        return [dict(member) for member in glance.image_members.list(image_id)]


def get_member(glance: GlanceClient, image_id: str, member_id: str) -> dict:
    with glance_errors():
        return dict(glance.image_members.get(image_id, segment(member_id, "member_id")))


def add_member(glance: GlanceClient, image_id: str, member_id: str) -> dict:
    with glance_errors():
        # the member id goes in the body, not the URL
        return dict(glance.image_members.create(image_id, member_id))


def update_member(glance: GlanceClient, image_id: str, member_id: str, status: str) -> dict:
    with glance_errors():
        return dict(glance.image_members.update(image_id, segment(member_id, "member_id"), status))


def remove_member(glance: GlanceClient, image_id: str, member_id: str) -> None:
    with glance_errors():
        glance.image_members.delete(image_id, segment(member_id, "member_id"))

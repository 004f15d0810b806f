"""Writing metadata definitions: namespaces (from a whole document, as the dashboard's
"Import Namespace"), their objects, properties, tags and resource-type associations.

Glance's default policy leaves these to admins; its 403 is passed on. Every write makes
the cached namespace lists and resource types of that Glance endpoint stale on every
instance (:func:`glance_api.services.metadefs.forget_cached`), so the next read shows it.
"""

from rest_framework import exceptions

from ..clients import GlanceClient, get_json, send_json
from ..exceptions import GlanceConflict
from .metadefs import forget_cached, get_namespace
from .paths import segment

# What a namespace's sub-resources are called in Glance's URLs and answers.
KINDS = {
    "objects": ("objects", "object name"),
    "properties": ("properties", "property name"),
    "tags": ("tags", "tag name"),
    "resource_types": ("resource_type_associations", "resource type"),
}


def _namespace_path(namespace: str) -> str:
    return f"/v2/metadefs/namespaces/{segment(namespace, 'namespace')}"


def _item_path(namespace: str, kind: str, name: str) -> str:
    return f"{_namespace_path(namespace)}/{kind}/{segment(name, KINDS[kind][1])}"


def create_namespace(glance: GlanceClient, document: dict) -> dict:
    """A namespace with everything in ``document`` (objects, properties, tags, resource
    type associations) in one call; the namespace as :func:`get_namespace` gives it."""
    send_json(glance, "POST", "/v2/metadefs/namespaces", document)
    forget_cached(glance)
    return get_namespace(glance, document["namespace"])


def update_namespace(glance: GlanceClient, namespace: str, fields: dict) -> dict:
    """Set the namespace's own fields given in ``fields``; the others keep their values,
    and so does its owner (Glance's PUT would clear what it is not sent, and make the
    caller's project the owner)."""
    current = get_namespace(glance, namespace)
    own = ("namespace", "display_name", "description", "visibility", "protected", "owner")
    body = {key: current[key] for key in own if current.get(key) is not None}
    body.update(fields)
    send_json(glance, "PUT", _namespace_path(namespace), body)
    forget_cached(glance)
    return get_namespace(glance, body["namespace"])


def delete_namespace(glance: GlanceClient, namespace: str) -> None:
    send_json(glance, "DELETE", _namespace_path(namespace))
    forget_cached(glance)


def list_items(glance: GlanceClient, namespace: str, kind: str) -> list[dict]:
    """A namespace's objects, properties, tags or resource-type associations."""
    key = KINDS[kind][0]
    found = get_json(glance, f"{_namespace_path(namespace)}/{kind}").get(key, [])
    if kind == "properties":  # Glance gives them by name
        return [{"name": name, **definition} for name, definition in found.items()]
    return found


def get_item(glance: GlanceClient, namespace: str, kind: str, name: str) -> dict:
    item = get_json(glance, _item_path(namespace, kind, name))
    return {"name": name, **item} if kind == "properties" else item


def create_item(glance: GlanceClient, namespace: str, kind: str, body: dict) -> dict:
    answer = send_json(glance, "POST", f"{_namespace_path(namespace)}/{kind}", body)
    forget_cached(glance)
    return answer or {}


def create_tag(glance: GlanceClient, namespace: str, name: str) -> dict:
    answer = send_json(glance, "POST", _item_path(namespace, "tags", name))
    forget_cached(glance)
    return answer or {"name": name}


def create_tags(glance: GlanceClient, namespace: str, names: list[str], append: bool) -> list[dict]:
    """Several tags at once: with ``append`` added to the namespace's, else instead of them."""
    options = {"X-Openstack-Append": "True"} if append else None
    send_json(
        glance,
        "POST",
        f"{_namespace_path(namespace)}/tags",
        {"tags": [{"name": name} for name in names]},
        options=options,
    )
    forget_cached(glance)
    return list_items(glance, namespace, "tags")


def update_item(glance: GlanceClient, namespace: str, kind: str, name: str, body: dict) -> dict:
    """Replace one object, property or tag; renaming it onto another of the namespace's is
    a 409 (Glance's database refuses it, and Glance answers that with a 500)."""
    new_name = body.get("name", name)
    if new_name != name:
        try:
            get_item(glance, namespace, kind, new_name)
        except exceptions.NotFound:
            pass
        else:
            raise GlanceConflict(
                f"The namespace already has one named {new_name!r}: nothing was changed."
            )
    answer = send_json(glance, "PUT", _item_path(namespace, kind, name), body)
    forget_cached(glance)
    if kind == "properties" and answer is not None:
        return {"name": body.get("name", name), **answer}
    return answer or {}


def delete_item(glance: GlanceClient, namespace: str, kind: str, name: str) -> None:
    send_json(glance, "DELETE", _item_path(namespace, kind, name))
    forget_cached(glance)


def delete_all_tags(glance: GlanceClient, namespace: str) -> None:
    send_json(glance, "DELETE", f"{_namespace_path(namespace)}/tags")
    forget_cached(glance)

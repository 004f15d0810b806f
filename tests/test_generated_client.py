"""A Python client generated from the OpenAPI schema (openapi-python-client) works as is.

The client is generated from this server's schema, without a single warning, into a
temporary folder; then it lists, creates, reads, updates and deletes an image and reads
namespaces and the version against the dev cloud, each answer parsed into its models.
"""

import base64
import hashlib
import importlib
import io
import subprocess
import sys
import uuid
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from rest_framework.test import APIClient

    folder = tmp_path_factory.mktemp("generated")
    schema = folder / "schema.json"
    schema.write_bytes(APIClient().get("/api/schema/", {"format": "json"}).content)
    config = folder / "config.yaml"
    config.write_text(
        "post_hooks: []\nproject_name_override: glance_api_client\n"
        "package_name_override: glance_api_client\n"
    )
    generator = Path(sys.executable).parent / "openapi-python-client"
    result = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(schema),
            "--meta",
            "none",
            "--output-path",
            str(folder / "glance_api_client"),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("glance_api_client")
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m.startswith("glance_api_client")]:
            del sys.modules[name]


def admin_of(generated, live_server, admin_token):
    """The generated package's models, and its client as admin against the live server."""
    models = importlib.import_module(f"{generated.__name__}.models")
    client = generated.AuthenticatedClient(
        base_url=live_server.url,
        token=admin_token,
        prefix="",
        auth_header_name="X-Auth-Token",
        raise_on_unexpected_status=True,
    )
    return models, client


def operation(package, tag: str, name: str):
    return importlib.import_module(f"{package.__name__}.api.{tag}.{name}")


def test_generated_client_covers_every_operation(
    generated, live_server, admin_token, cleanup_images
):
    models, client = admin_of(generated, live_server, admin_token)
    name = f"generated-{uuid.uuid4().hex[:8]}"

    created = operation(generated, "images", "glance_images_create").sync_detailed(
        client=client,
        body=models.ImageCreate(
            name=name,
            source_type=models.SourceTypeEnum.FILE_DIRECT,
            disk_format=models.DiskFormatEnum.RAW,
            visibility=models.VisibilityEnum.PRIVATE,
            protected=False,
        ),
    )
    assert created.status_code == 201 and isinstance(created.parsed, models.CreatedImage)
    image = created.parsed
    cleanup_images.append(image.id)
    assert image.name == name and "/api/glance/uploads/" in image.upload_url

    listed = operation(generated, "images", "glance_images_list").sync_detailed(
        client=client,
        name=name,
        paginate=True,
        limit=1,
        sort_dir=models.GlanceImagesListSortDir.ASC,
    )
    assert isinstance(listed.parsed, models.PaginatedImageList)
    assert [item.id for item in listed.parsed.items] == [image.id]
    assert isinstance(listed.parsed.items[0], models.Image)
    assert listed.parsed.has_more_data is False and listed.parsed.has_prev_data is False
    # by part of the name, in capitals (q): the search's own field parsed into its model
    found = operation(generated, "images", "glance_images_list").sync_detailed(
        client=client, q=name.split("-")[1].upper(), paginate=True
    )
    assert [item.id for item in found.parsed.items] == [image.id]
    assert found.parsed.search.complete is True and found.parsed.search.images_searched >= 1

    read = operation(generated, "images", "glance_images_retrieve").sync_detailed(
        str(image.id), client=client
    )
    assert isinstance(read.parsed, models.ImageDetail) and read.parsed.status == "queued"

    updated = operation(generated, "images", "glance_images_partial_update").sync_detailed(
        str(image.id),
        client=client,
        prefer=models.GlanceImagesPartialUpdatePrefer.RETURNREPRESENTATION,
        body=models.PatchedImageUpdate(
            name=f"{name}-2",
            disk_format=models.DiskFormatEnum.RAW,
            visibility=models.VisibilityEnum.PRIVATE,
            protected=False,
            min_ram=256,
        ),
    )
    assert isinstance(updated.parsed, models.ImageDetail)
    assert (updated.parsed.name, updated.parsed.min_ram) == (f"{name}-2", 256)

    deleted = operation(generated, "images", "glance_images_destroy").sync_detailed(
        str(image.id), client=client
    )
    assert deleted.status_code == 204
    gone = operation(generated, "images", "glance_images_retrieve").sync_detailed(
        str(image.id), client=client
    )
    assert gone.status_code == 404 and isinstance(gone.parsed, models.Error)

    namespaces = operation(generated, "metadefs", "glance_metadefs_namespaces_list").sync(
        client=client, resource_type="OS::Nova::Flavor", paginate=True, limit=5
    )
    assert isinstance(namespaces, models.PaginatedNamespaceList)
    assert len(namespaces.items) == 5 and namespaces.has_more_data is True
    assert all(isinstance(ns, models.Namespace) for ns in namespaces.items)
    assert any(
        key.startswith("hw:")
        for ns in namespaces.items
        for key in (ns.properties.to_dict() if ns.properties else {})
    )

    version = operation(generated, "version", "glance_version_list").sync(client=client)
    assert isinstance(version, models.Version) and version.version == "2"


def test_generated_client_writes_metadefs_and_reads_tasks_and_the_cache(
    generated, live_server, admin_token, glance_admin, make_image
):
    """The routes of the rest of Glance v2 through the generated client's models."""
    models, client = admin_of(generated, live_server, admin_token)
    name = f"TEST::Generated::{uuid.uuid4().hex[:8]}"
    created = operation(generated, "metadefs", "glance_metadefs_namespaces_create").sync(
        client=client,
        body=models.NamespaceDocument(
            namespace=name,
            visibility=models.NamespaceVisibilityEnum.PRIVATE,
            tags=[models.Tag(name="one")],
            resource_type_associations=[
                models.ResourceTypeAssociation(name="OS::Glance::Image", prefix="gen_")
            ],
        ),
    )
    try:
        assert isinstance(created, models.Namespace) and created.namespace == name
        prop = operation(
            generated, "metadefs", "glance_metadefs_namespaces_properties_create"
        ).sync(
            name,
            client=client,
            body=models.Property(name="size", title="Size", type_=models.PropertyTypeEnum.INTEGER),
        )
        assert isinstance(prop, models.Property) and prop.name == "size"
        tags = operation(generated, "metadefs", "glance_metadefs_namespaces_tags_create").sync(
            name, client=client, body=models.Tags(tags=[models.Tag(name="two")], append=True)
        )
        assert {tag.name for tag in tags.items} == {"one", "two"}
        held = glance_admin.metadefs_namespace.get(name)
        assert set(held["properties"]) == {"size"}
        assert {tag["name"] for tag in held["tags"]} == {"one", "two"}
    finally:
        deleted = operation(
            generated, "metadefs", "glance_metadefs_namespaces_destroy"
        ).sync_detailed(name, client=client)
    assert deleted.status_code == 204

    image = make_image(data=b"tasks" * 10)
    tasks = operation(generated, "images", "glance_images_tasks_retrieve").sync(
        image["id"], client=client
    )
    assert isinstance(tasks, models.ImageTaskList) and tasks.items == []
    cache = operation(generated, "cache", "glance_cache_list").sync(client=client)
    assert isinstance(cache, models.ImageCacheState)


def test_generated_client_uploads_with_a_digest(generated, live_server, admin_token, make_image):
    """Issue 37: the digest headers are the upload's parameters in the generated client;
    a refused field is its documented 400; Prefer is the create's."""
    types = importlib.import_module(f"{generated.__name__}.types")
    models, client = admin_of(generated, live_server, admin_token)
    upload = operation(generated, "images", "glance_images_file_update")
    data = b"generated digest upload" * 100
    field = f"sha-512=:{base64.b64encode(hashlib.sha512(data).digest()).decode()}:"
    image = make_image(name="generated-digest")
    answer = upload.sync_detailed(
        image["id"], client=client, body=types.File(payload=io.BytesIO(data)), content_digest=field
    )
    assert answer.status_code == 200 and isinstance(answer.parsed, models.ImageDetail)
    assert answer.headers["Repr-Digest"] == field and answer.parsed.status == "active"
    other = make_image(name="generated-digest-bad")
    refused = upload.sync_detailed(
        other["id"],
        client=client,
        body=types.File(payload=io.BytesIO(data)),
        repr_digest="sha-512=:AAAA:",
    )
    assert refused.status_code == 400
    assert b"invalid_digest" in refused.content and b"sha-512" in refused.content
    # a create that asks to wait (this WSGI server answers at once, as RFC 7240 lets it)
    created = operation(generated, "images", "glance_images_create").sync_detailed(
        client=client,
        prefer="wait=5",
        body=models.ImageCreate(
            name="generated-wait",
            source_type=models.SourceTypeEnum.FILE_DIRECT,
            disk_format=models.DiskFormatEnum.RAW,
            visibility=models.VisibilityEnum.PRIVATE,
            protected=False,
        ),
    )
    assert created.status_code == 201 and isinstance(created.parsed, models.CreatedImage)
    operation(generated, "images", "glance_images_destroy").sync_detailed(
        str(created.parsed.id), client=client
    )

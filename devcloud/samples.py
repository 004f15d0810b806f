"""Sample images for the main job, made locally and uploaded with glanceclient."""

import io
from collections.abc import Iterator
from dataclasses import dataclass, field

import glanceclient
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from . import config as c
from . import images

TAG = "glance-api-sample"


@dataclass(frozen=True)
class Sample:
    name: str
    account: c.Account
    disk_format: str
    visibility: str
    properties: dict[str, str] = field(default_factory=dict)
    share_with_demo: bool = False


SAMPLES = (
    Sample(
        "sample-public-raw",
        c.ADMIN,
        "raw",
        "public",
        {"os_distro": "debian", "os_version": "12", "hw_disk_bus": "virtio"},
    ),
    Sample("sample-public-iso", c.ADMIN, "iso", "public", {"os_distro": "debian"}),
    Sample(
        "sample-private-qcow2",
        c.ADMIN,
        "qcow2",
        "private",
        {"os_type": "linux", "owner_note": "admin only"},
    ),
    Sample(
        "sample-shared-qcow2",
        c.ADMIN,
        "qcow2",
        "shared",
        {"os_type": "linux"},
        share_with_demo=True,
    ),
    Sample("sample-community-iso", c.ADMIN, "iso", "community", {"os_distro": "rescue"}),
    Sample("demo-private-raw", c.DEMO, "raw", "private", {"created_by": "demo"}),
)

DATA = {"raw": images.raw_image, "qcow2": images.qcow2_image, "iso": images.iso_image}


def session_for(account: c.Account) -> ks_session.Session:
    auth = v3.Password(
        auth_url=c.KEYSTONE_URL,
        username=account.username,
        password=account.password,
        project_name=account.project,
        user_domain_name=c.DOMAIN,
        project_domain_name=c.DOMAIN,
    )
    return ks_session.Session(auth=auth)


def seed() -> Iterator[str]:
    """Upload each sample that is not there yet; yield one line per sample."""
    sessions = {account: session_for(account) for account in (c.ADMIN, c.DEMO)}
    clients = {
        account: glanceclient.Client("2", session=sess, region_name=c.REGION)
        for account, sess in sessions.items()
    }
    demo_project = sessions[c.DEMO].get_project_id()
    for sample in SAMPLES:
        glance = clients[sample.account]
        owner = sessions[sample.account].get_project_id()
        mine = [
            image
            for image in glance.images.list(filters={"name": sample.name, "tag": [TAG]})
            if image["owner"] == owner
        ]
        active = [image for image in mine if image["status"] == "active"]
        if active:
            yield f"{sample.name}: already there ({active[0]['id']})"
            continue
        for leftover in mine:  # an earlier seed cut off before its upload
            glance.images.delete(leftover["id"])
        image = glance.images.create(
            name=sample.name,
            disk_format=sample.disk_format,
            container_format="bare",
            visibility=sample.visibility,
            tags=[TAG],
            **sample.properties,
        )
        data = DATA[sample.disk_format]()
        glance.images.upload(image["id"], io.BytesIO(data), image_size=len(data))
        if sample.share_with_demo:
            glance.image_members.create(image["id"], demo_project)
            clients[c.DEMO].image_members.update(image["id"], demo_project, "accepted")
        yield f"{sample.name}: created {image['id']} ({sample.visibility}, {len(data)} bytes)"

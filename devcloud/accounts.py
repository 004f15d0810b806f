"""Keystone's catalog and accounts for the dev cloud: idempotent, run on every ``up``."""

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client as ks_client

from . import config as c

ROLES = ("member", "reader")


def admin_session() -> ks_session.Session:
    auth = v3.Password(
        auth_url=c.KEYSTONE_URL,
        username=c.ADMIN.username,
        password=c.ADMIN.password,
        project_name=c.ADMIN.project,
        user_domain_name=c.DOMAIN,
        project_domain_name=c.DOMAIN,
    )
    return ks_session.Session(auth=auth)


def register() -> None:
    """The image service with its endpoints, and the demo and bench accounts."""
    keystone = ks_client.Client(session=admin_session(), interface="public")
    _image_service(keystone)
    ensure_account(keystone, c.DEMO, "The dev cloud's non-admin project")
    ensure_account(keystone, c.BENCH, "Images of the benchmarks (make bench)")


def ensure_account(keystone: ks_client.Client, account: c.Account, description: str) -> None:
    """A project, and a user with the member and reader roles in it."""
    domain = keystone.domains.get("default")
    project = _find(keystone.projects.list(name=account.project)) or keystone.projects.create(
        account.project, domain, description=description
    )
    user = _find(keystone.users.list(name=account.username))
    if user is None:
        user = keystone.users.create(
            account.username, domain=domain, password=account.password, default_project=project
        )
    elif not _password_works(account):
        # Keep the documented password, whatever happened to it. Only when needed: a
        # password change revokes the user's tokens, even ones issued in the same second.
        keystone.users.update(user, password=account.password, default_project=project)
    for name in ROLES:
        role = _find(keystone.roles.list(name=name)) or keystone.roles.create(name)
        keystone.roles.grant(role, user=user, project=project)


def _image_service(keystone: ks_client.Client) -> None:
    service = _find(keystone.services.list(type="image")) or keystone.services.create(
        "glance", "image", description="OpenStack Image"
    )
    existing = {ep.interface: ep for ep in keystone.endpoints.list(service=service)}
    for interface in ("public", "internal", "admin"):
        endpoint = existing.get(interface)
        if endpoint is None:
            keystone.endpoints.create(service, c.GLANCE_URL, interface=interface, region=c.REGION)
        elif endpoint.url != c.GLANCE_URL:  # the port changed since the last up
            keystone.endpoints.update(endpoint, url=c.GLANCE_URL)


def _password_works(account: c.Account) -> bool:
    auth = v3.Password(
        auth_url=c.KEYSTONE_URL,
        username=account.username,
        password=account.password,
        user_domain_name=c.DOMAIN,
        unscoped=True,
    )
    try:
        ks_session.Session(auth=auth).get_token()
    except ks_exc.Unauthorized:
        return False
    return True


def _find(items):
    return items[0] if items else None

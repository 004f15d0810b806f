"""Another Glance of the dev cloud, configured otherwise for a test (a Glance that keeps
SHA-256 as ``os_hash_algo``, one that enables fewer import methods), behind the same
Keystone, on a port of its own, started and stopped by the test. Its configuration is the
dev cloud's Glance's, with ``[DEFAULT]`` options added and lines replaced; with
``own_state`` it also has a database, stores and image cache of its own (else it serves
the dev cloud's images).

    with glance_variant("sha256", {"hashing_algorithm": "sha256"}) as url:
        ...  # the app pointed at it: GLANCE_URL = url
"""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from . import config as c
from . import postgres
from .cloud import glance_conf_dir
from .ports import free_port
from .process import Server, _bin, _run, log


@contextmanager
def glance_variant(
    name: str,
    defaults: dict[str, str] | None = None,
    replaced: dict[str, str] | None = None,
    own_state: bool = True,
) -> Iterator[str]:
    """A Glance named ``name`` with ``defaults`` in its ``[DEFAULT]`` and ``replaced``
    lines replaced, up while in the block; its URL. Its own database (``own_state``) is
    made and migrated once per state folder."""
    if not name.isidentifier():
        raise ValueError(f"not a name for a database: {name!r}")
    folder = c.STATE / f"glance-{name}"
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://{c.HOST}:{port}"
    text = (glance_conf_dir() / "glance-api.conf").read_text()
    changes = dict(replaced or {})
    if own_state:
        changes[postgres.url("glance")] = postgres.url(f"glance_{name}")
        changes[str(c.STATE / "images")] = str(folder / "images")
        changes[str(c.STATE / "image-cache")] = str(folder / "image-cache")
        changes[f"worker_self_reference_url = {c.GLANCE_URL}"] = (
            f"worker_self_reference_url = {url}"
        )
    for old, new in changes.items():
        if old not in text:
            raise ValueError(f"not in the dev cloud's Glance configuration: {old!r}")
        text = text.replace(old, new)
    options = "".join(f"{key} = {value}\n" for key, value in (defaults or {}).items())
    text = text.replace("[DEFAULT]\n", f"[DEFAULT]\n{options}", 1)
    (folder / "glance-api.conf").write_text(text)
    shutil.copyfile(glance_conf_dir() / "glance-api-paste.ini", folder / "glance-api-paste.ini")
    marker = folder / ".database-ready"
    if own_state and not marker.exists():
        log(f"creating the database of Glance {name}")
        bindir = postgres._bindir()
        existing = set(postgres._psql(bindir, "SELECT datname FROM pg_database").split())
        if f"glance_{name}" not in existing:
            postgres._psql(bindir, f"CREATE DATABASE glance_{name}")
        _run([_bin("glance-manage"), "--config-file", str(folder / "glance-api.conf"), "db_sync"])
        marker.touch()
    server = Server(
        f"glance-{name}",
        "devcloud.glance_wsgi:application",
        port,
        1,
        {"OS_GLANCE_CONFIG_DIR": str(folder)},
    )
    server.start()
    try:
        server.wait()
        yield url
    finally:
        server.stop()

"""Another Glance of the dev cloud, configured otherwise for a test (e.g. a Glance that
keeps SHA-256 as ``os_hash_algo``): its own database, stores, image cache and port,
behind the same Keystone, started and stopped by the test. Its configuration is the dev
cloud's Glance's with those replaced and the given ``[DEFAULT]`` options added.

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
def glance_variant(name: str, defaults: dict[str, str]) -> Iterator[str]:
    """A Glance named ``name`` with ``defaults`` in its ``[DEFAULT]``, up while in the
    block; its URL. Its database is made (and migrated) once per state folder."""
    if not name.isidentifier():
        raise ValueError(f"not a name for a database: {name!r}")
    folder = c.STATE / f"glance-{name}"
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://{c.HOST}:{port}"
    text = (glance_conf_dir() / "glance-api.conf").read_text()
    for old, new in (
        (postgres.url("glance"), postgres.url(f"glance_{name}")),
        (str(c.STATE / "images"), str(folder / "images")),
        (str(c.STATE / "image-cache"), str(folder / "image-cache")),
        (f"worker_self_reference_url = {c.GLANCE_URL}", f"worker_self_reference_url = {url}"),
    ):
        text = text.replace(old, new)
    options = "".join(f"{key} = {value}\n" for key, value in defaults.items())
    text = text.replace("[DEFAULT]\n", f"[DEFAULT]\n{options}", 1)
    (folder / "glance-api.conf").write_text(text)
    shutil.copyfile(glance_conf_dir() / "glance-api-paste.ini", folder / "glance-api-paste.ini")
    marker = folder / ".database-ready"
    if not marker.exists():
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

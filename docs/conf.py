"""Sphinx configuration of glance_api's documentation (make docs: offline, warnings are
errors). Pages are Markdown (MyST). Three things are generated at each build, never
written by hand:

- the app settings' table (``_generated/settings-table.md``): names, environment
  variables and defaults from ``glance_api.conf.DEFAULTS``, meanings from
  ``settings-meanings.md``; a setting without a meaning, or a meaning of no setting,
  fails the build;
- the benchmark charts (``_generated/*.svg``), drawn by matplotlib from the figures of
  the last runs (``data/*.json``, which make bench, make load and make chaos write too);
- the API reference: the OpenAPI schema (``api/openapi.json``) rendered by the same ReDoc
  the app serves (drf-spectacular-sidecar's), offline.
"""

import json
import os
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS))

project = "glance_api"
author = "glance_api's developers"
copyright = "2026, glance_api's developers"
extensions = ["myst_parser"]
myst_heading_anchors = 3
html_theme = "furo"
html_title = "glance_api"
exclude_patterns = ["_build", "settings-meanings.md", "_generated", "README.md"]
html_extra_path = ["_generated/extra"]
(DOCS / "_generated" / "extra" / "api").mkdir(parents=True, exist_ok=True)
suppress_warnings = ["myst.header"]  # pages made of the README's sections start at ##


def _release() -> str:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


release = version = _release()


def generate(app) -> None:
    from settings_table import write_settings_table

    from benchmarks.charts import write_charts

    out = DOCS / "_generated"
    (out / "extra" / "api").mkdir(parents=True, exist_ok=True)
    write_settings_table(DOCS / "settings-meanings.md", out / "settings-table.md")
    write_charts(DOCS / "data", out)
    _api_reference(out / "extra" / "api")


def _api_reference(folder: Path) -> None:
    """The OpenAPI schema and the sidecar's ReDoc, as one offline page (api/index.html)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "docs-only-not-a-secret")
    import django

    django.setup()
    import drf_spectacular_sidecar
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    schema = SchemaGenerator().get_schema(request=None, public=True)
    (folder / "openapi.json").write_bytes(OpenApiJsonRenderer().render(schema))
    redoc = Path(drf_spectacular_sidecar.__file__).parent / "static" / "drf_spectacular_sidecar"
    shutil.copy(redoc / "redoc" / "bundles" / "redoc.standalone.js", folder)
    (folder / "index.html").write_text(
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        "<title>glance_api: API reference</title></head><body>"
        "<redoc spec-url='openapi.json'></redoc>"
        "<script src='redoc.standalone.js'></script></body></html>\n"
    )
    json.loads((folder / "openapi.json").read_text())  # fails the build if not JSON


def setup(app):
    app.connect("builder-inited", generate)

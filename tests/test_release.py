"""The release (issue 27): ``python -m build`` makes an sdist and a wheel that ``twine
check`` passes; the wheel holds every file of the app (templates and the Horizon enabled
file among them) and nothing else; installed with its dependencies into a fresh venv,
the app imports and its URLs, templates and static files (DRF's and the sidecar's: it
ships none of its own) are found there."""

import os
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

# What the fresh venv runs: a project of one settings module around the app.
CHECK = """
import django
from django.conf import settings

settings.configure(
    SECRET_KEY="release-check-not-a-secret", ROOT_URLCONF="__main__",
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth",
                    "django.contrib.sessions", "django.contrib.staticfiles",
                    "rest_framework", "drf_spectacular", "drf_spectacular_sidecar",
                    "glance_api"],
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True}],
    STATIC_URL="/static/", CACHES={"default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
)
django.setup()
from django.urls import include, path

urlpatterns = [path("api/glance/", include("glance_api.urls"))]  # every view imports
from django.contrib.staticfiles import finders
from django.template.loader import get_template
from django.urls import reverse

for name in ("api.html", "login.html", "redoc.html"):
    get_template(f"glance_api/{name}")
for path in ("rest_framework/css/bootstrap.min.css",
             "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js",
             "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"):
    assert finders.find(path), path
import glance_api.horizon.enabled._9100_glance_api as enabled
print("ok", reverse("glance_api:image-list"), enabled.__name__)
"""


def _source_copy(folder: Path) -> Path:
    """The checkout's files (tracked, and new ones not ignored) copied to ``folder``: the
    build writes its own folders (``glance_api-<version>/``, egg-info) into the tree it
    builds, which in the checkout another lane's test could see appear (one did:
    tests/test_settings.py's "importing the settings creates nothing")."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)
    return folder


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    source = _source_copy(tmp_path_factory.mktemp("source"))
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
        text=True,
    )
    return out


def test_build_makes_an_sdist_and_a_wheel_twine_passes(dist):
    made = sorted(path.name for path in dist.iterdir())
    assert made == [f"glance_api-{VERSION}-py3-none-any.whl", f"glance_api-{VERSION}.tar.gz"]
    checked = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.iterdir())],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_wheel_holds_every_file_of_the_app_and_nothing_else(dist):
    tracked = subprocess.run(
        ["git", "ls-files", "glance_api"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    (wheel,) = dist.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    app = {name for name in names if not name.startswith(f"glance_api-{VERSION}.dist-info/")}
    assert app == set(tracked)
    assert "glance_api/horizon/enabled/_9100_glance_api.py" in app
    assert {
        "glance_api/templates/glance_api/api.html",
        "glance_api/templates/glance_api/redoc.html",
    } <= app


def test_the_wheel_installs_into_a_fresh_venv_and_the_app_works_there(dist, tmp_path):
    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv" / "bin" / "python"
    (wheel,) = dist.glob("*.whl")
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(wheel)], capture_output=True, text=True
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    checked = subprocess.run(
        [str(python), "-c", CHECK], capture_output=True, text=True, cwd=tmp_path, env=env
    )  # not the checkout: the installed app
    assert checked.returncode == 0, checked.stderr[-3000:]
    assert checked.stdout.split() == [
        "ok",
        "/api/glance/images/",
        "glance_api.horizon.enabled._9100_glance_api",
    ]
    assert (
        subprocess.run(
            [str(python), "-m", "pip", "check"], capture_output=True, text=True
        ).returncode
        == 0
    )

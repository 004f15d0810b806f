"""The project's settings (issue 27): a bad value in the environment is a clear
ImproperlyConfigured naming it, and importing the settings creates nothing."""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GLANCE_API_"))}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**clean, "DJANGO_DEBUG": "1", **env},
    )


@pytest.mark.parametrize("name", ["GLANCE_API_TIMEOUT", "DJANGO_SECURE_HSTS_SECONDS"])
def test_a_bad_number_is_an_improperly_configured_that_names_it(name):
    result = _run("import project.settings", **{name: "thirty"})
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        f"django.core.exceptions.ImproperlyConfigured: {name} must be a whole number, not 'thirty'."
    )


def test_numbers_and_flags_are_read():
    result = _run(
        "from project import settings; print(settings.GLANCE_API, settings.SECURE_HSTS_SECONDS)",
        GLANCE_API_TIMEOUT=" 12 ",
        GLANCE_API_TRUST_ENV="false",
        DJANGO_SECURE_HSTS_SECONDS="60",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "{'TIMEOUT': 12, 'TRUST_ENV': False} 60"


def test_importing_the_settings_creates_nothing(tmp_path):
    def listing():
        return {
            str(path)
            for folder in (ROOT, ROOT / "var")
            if folder.exists()
            for path in folder.iterdir()
        }

    before = listing()
    static_root = tmp_path / "static"  # the settings made it, and var/static by default
    result = _run("import project.settings", DJANGO_STATIC_ROOT=str(static_root))
    assert result.returncode == 0, result.stderr
    assert not static_root.exists()
    assert listing() == before


def test_the_schema_names_the_package_version(settings):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert settings.SPECTACULAR_SETTINGS["VERSION"] == project["version"]

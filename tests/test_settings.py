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


# --- the app's system checks ----------------------------------------------------------


def _installed(tmp_path, monkeypatch, name: str, *requires: str) -> None:
    """A package installed beside the app (its metadata, where importlib.metadata reads
    an installed package's), needing ``requires``."""
    info = tmp_path / f"{name}-24.0.0.dist-info"
    info.mkdir()
    lines = ["Metadata-Version: 2.1", f"Name: {name}", "Version: 24.0.0"]
    (info / "METADATA").write_text(
        "\n".join([*lines, *(f"Requires-Dist: {r}" for r in requires)]) + "\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))


def test_a_django_an_installed_package_does_not_accept_is_an_error(tmp_path, monkeypatch):
    """As a plain pip install of the app leaves Horizon 24's venv: Django moved from under
    it (issue 33). Horizon's own requirement, as its metadata states it, but for a
    Django no LTS the app supports is."""
    from glance_api.checks import check_django_fits_the_installed_packages

    _installed(tmp_path, monkeypatch, "dashboard-of-old", "Django<4.0,>=3.2", "pbr")
    errors = check_django_fits_the_installed_packages(None)
    assert [error.id for error in errors] == ["glance_api.E002"]
    assert "dashboard-of-old 24.0.0 needs Django<4.0,>=3.2" in errors[0].msg
    assert "pip install -c constraints.txt" in errors[0].hint


def test_a_django_every_installed_package_accepts_is_no_error(tmp_path, monkeypatch):
    from glance_api.checks import check_django_fits_the_installed_packages

    _installed(
        tmp_path,
        monkeypatch,
        "dashboard-of-now",
        "Django>=4.2",
        'Django<3; extra == "old"',  # only with an extra: not what is installed
    )
    assert check_django_fits_the_installed_packages(None) == []

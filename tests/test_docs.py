"""The documentation's generated parts (issue 27): the settings' table cannot drift from
the code, and the charts are drawn from the benchmarks' figures (make docs builds the
whole site, warnings as errors, before the suite runs)."""

import json
import re
import sys
from pathlib import Path

import pytest

from benchmarks import charts
from glance_api.conf import DEFAULTS

DOCS = Path(__file__).resolve().parent.parent / "docs"
sys.path.insert(0, str(DOCS))

from settings_table import SettingsDrift, write_settings_table  # noqa: E402


def test_the_settings_table_has_every_setting_its_variable_and_default(tmp_path):
    table = tmp_path / "table.md"
    write_settings_table(DOCS / "settings-meanings.md", table)
    rows = {
        line.split(" | ")[0].strip("| `"): line
        for line in table.read_text().splitlines()
        if line.startswith("| `")
    }
    assert set(rows) == set(DEFAULTS)
    for name, row in rows.items():
        assert f"`GLANCE_API_{name}`" in row
    assert "| `60` |" in rows["METADEFS_CACHE_SECONDS"]
    assert "| none |" in rows["ACCEL_SECRET"]


@pytest.mark.parametrize("change", ["drop", "add"])
def test_a_setting_without_a_meaning_or_a_meaning_of_none_fails_the_build(tmp_path, change):
    lines = (DOCS / "settings-meanings.md").read_text().splitlines()
    if change == "drop":
        lines = [line for line in lines if not line.startswith("| `TIMEOUT`")]
    else:
        lines.append("| `NO_SUCH_SETTING` | nothing |")
    meanings = tmp_path / "meanings.md"
    meanings.write_text("\n".join(lines))
    with pytest.raises(SettingsDrift, match="TIMEOUT" if change == "drop" else "NO_SUCH"):
        write_settings_table(meanings, tmp_path / "table.md")


def test_each_benchmark_of_the_docs_has_its_chart(tmp_path):
    written = charts.write_charts(DOCS / "data", tmp_path)
    assert {path.stem for path in written} == {p.stem for p in (DOCS / "data").glob("*.json")}
    for path in written:
        assert path.read_text().lstrip().startswith(("<?xml", "<svg"))
    load = json.loads((DOCS / "data" / "load.json").read_text())
    title = f"{load['requests']:,} requests"
    assert title in (tmp_path / "load.svg").read_text()  # the chart says what it shows


def _layout_block() -> list[str]:
    text = (DOCS / "development.md").read_text()
    block = text[text.index("glance_api/           the reusable app") :]
    return block[: block.index("\ndevcloud/")].splitlines()


def test_the_layout_names_every_module_of_the_app():
    """docs/development.md's layout: every module of glance_api/, each under its package."""
    app = DOCS.parent / "glance_api"
    lines = _layout_block()
    sections: dict[str, str] = {"": "\n".join(lines)}
    packages = ("clients", "dataplane", "services", "serializers", "views", "horizon", "watch")
    for package in packages:
        start = next(i for i, line in enumerate(lines) if line.startswith(f"  {package}/"))
        end = next(
            (i for i in range(start + 1, len(lines)) if re.match(r"  \S", lines[i])), len(lines)
        )
        sections[package] = "\n".join(lines[start:end])
    missing = []
    for path in sorted(app.rglob("*.py")):
        relative = path.relative_to(app)
        if relative.name == "__init__.py" or "migrations" in relative.parts:
            continue
        package = relative.parts[0] if len(relative.parts) > 1 else ""
        if not re.search(rf"\b{re.escape(relative.stem)}\b", sections[package]):
            missing.append(str(relative))
    assert missing == []


def test_each_test_the_security_page_names_is_in_the_file_it_names():
    """docs/security.md's table of findings: ``tests/<file>``: `test_...`, ... ."""
    import re

    text = (DOCS / "security.md").read_text()
    table = text[text.index("## The three reviews") :]
    named = 0
    for path, names in re.findall(r"`(tests/test_\w+\.py)`: ((?:`test_\w+`(?:, )?)+)", table):
        source = (DOCS.parent / path).read_text()
        for name in re.findall(r"`(test_\w+)`", names):
            assert re.search(rf"^(async )?def {name}\(", source, re.M), (path, name)
            named += 1
    assert named > 40  # the table was read


def test_the_docs_install_into_horizon_with_the_commands_the_dev_cloud_runs():
    """docs/usage.md, "Inside Horizon", step 1: the commands devcloud/horizon.py runs in
    every Horizon venv the tests and make compat use (issue 33)."""
    from devcloud import horizon

    text = (DOCS / "usage.md").read_text()
    step = text[text.index("## Inside Horizon") :]
    block = step[step.index("```sh") + len("```sh") : step.index("```", step.index("```sh") + 5)]
    assert [line.strip() for line in block.strip().splitlines()] == horizon.APP_INSTALL

"""The configuration page's table of the app's settings, from the code (docs/conf.py)."""

import json
from pathlib import Path


class SettingsDrift(RuntimeError):
    """The meanings and the app's settings do not name the same settings."""


def meanings(path: Path) -> dict[str, str]:
    """``| `NAME` | meaning |`` rows of ``path`` (a cell may name several settings)."""
    found = {}
    for line in path.read_text().splitlines():
        if not line.startswith("| `"):
            continue
        names, meaning = line.strip().strip("|").split(" | ", 1)
        for name in names.split(","):
            found[name.strip().strip("`")] = meaning.strip()
    return found


def _default(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{json.dumps(value) if isinstance(value, str) else value}`"


def write_settings_table(source: Path, target: Path) -> None:
    from glance_api.conf import DEFAULTS

    described = meanings(source)
    missing = sorted(set(DEFAULTS) - set(described))
    unknown = sorted(set(described) - set(DEFAULTS))
    if missing or unknown:
        raise SettingsDrift(
            f"{source.name}: no meaning for {missing or 'none'}; "
            f"meanings of settings the app does not have: {unknown or 'none'}"
        )
    rows = [
        "| setting | environment variable | default | meaning |",
        "|---|---|---|---|",
        *(
            f"| `{name}` | `GLANCE_API_{name}` | {_default(default)} | {described[name]} |"
            for name, default in DEFAULTS.items()
        ),
    ]
    target.write_text("\n".join(rows) + "\n")

"""System checks: a misspelt GLANCE_API key is reported, not silently ignored."""

from django.conf import settings
from django.core import checks

from .conf import DEFAULTS


@checks.register(checks.Tags.compatibility)
def check_settings(app_configs, **kwargs):
    configured = getattr(settings, "GLANCE_API", {})
    if not isinstance(configured, dict):
        return [checks.Error("GLANCE_API must be a dict.", id="glance_api.E001")]
    return [
        checks.Warning(
            f"Unknown GLANCE_API setting {name!r}.",
            hint=f"Known settings: {', '.join(sorted(DEFAULTS))}.",
            id="glance_api.W001",
        )
        for name in configured
        if name not in DEFAULTS
    ]

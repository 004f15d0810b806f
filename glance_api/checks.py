"""System checks: a misspelt GLANCE_API key is reported, not silently ignored; an
oslo.utils without Glance's format inspector is said."""

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


@checks.register(checks.Tags.compatibility)
def check_format_inspector(app_configs, **kwargs):
    from .services.inspection import can_inspect_formats

    if can_inspect_formats():
        return []
    return [
        checks.Warning(
            "oslo.utils has no format inspector (it came in 7.3, OpenStack 2024.2): uploads are "
            "not checked against their disk format before Glance keeps them, and the "
            "dashboard's legacy upload is kept in memory or a temporary file until its form "
            "is read, as Horizon's own does.",
            hint="Install oslo.utils 7.3 or later where the environment's pins allow it.",
            id="glance_api.W002",
        )
    ]

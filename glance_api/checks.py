"""System checks: a misspelt GLANCE_API key is reported, not silently ignored; an
oslo.utils without Glance's format inspector is said; a Django that an installed package
(Horizon) does not accept, as a plain install of the app can leave, is an error."""

import importlib.metadata

import django
from django.conf import settings
from django.core import checks
from packaging.requirements import InvalidRequirement, Requirement

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


@checks.register(checks.Tags.compatibility)
def check_django_fits_the_installed_packages(app_configs, **kwargs):
    """pip's resolver does not weigh what is installed already: a plain ``pip install``
    of the app into Horizon 24's or 25's venv takes the newest DRF, which needs Django
    5.2, and moves Django from under Horizon. Say so, naming the package and the install
    that keeps every package where it was (docs: usage, "Inside Horizon")."""
    errors = []
    for dist in importlib.metadata.distributions():
        for line in dist.requires or ():
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue
            if requirement.name.lower() != "django" or (
                requirement.marker and not requirement.marker.evaluate({"extra": ""})
            ):
                continue
            if not requirement.specifier.contains(django.__version__, prereleases=True):
                name = dist.metadata["Name"]
                errors.append(
                    checks.Error(
                        f"Django {django.__version__} is installed, but {name} "
                        f"{dist.version} needs Django{requirement.specifier}: an install "
                        "moved Django from under it.",
                        hint="Put back the Django it needs, then install glance_api with "
                        "the environment's packages held: pip freeze --exclude-editable > "
                        "constraints.txt; pip install -c constraints.txt glance-api "
                        '(docs: usage, "Inside Horizon").',
                        id="glance_api.E002",
                    )
                )
    return errors

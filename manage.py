#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    from django.conf import settings
    from django.core.management import execute_from_command_line

    # A settings error (no DJANGO_SECRET_KEY, say) is raised here, with its message: Django
    # 4.2's management commands would hide it behind "Models aren't loaded yet".
    settings.INSTALLED_APPS  # noqa: B018 (read for its side effect: the settings load)
    execute_from_command_line(sys.argv)

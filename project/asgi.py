"""The project's ASGI application: the waits and the event stream of glance_api.watch
(docs: production, "The asynchronous server"), and under ``make run`` everything.

Its middleware are the project's, but for WhiteNoise's, which runs only in a thread (each
wait would hold one); the static files are served by Django's own ASGI handler with DEBUG
on, and by nginx (or the WSGI instances) in production.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ["DJANGO_ASGI"] = "1"  # project.settings: the middleware for this server

application = get_asgi_application()

from django.conf import settings  # noqa: E402 - after the settings are set up

if settings.DEBUG:
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    application = ASGIStaticFilesHandler(application)

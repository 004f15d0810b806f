from django.apps import AppConfig


class GlanceApiConfig(AppConfig):
    name = "glance_api"
    verbose_name = "Glance API"

    def ready(self):
        from . import auth, checks  # noqa: F401  (signal receivers, system checks)

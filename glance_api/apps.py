from django.apps import AppConfig


class GlanceApiConfig(AppConfig):
    name = "glance_api"
    verbose_name = "Glance API"

    def ready(self):
        from . import auth, checks, schema  # noqa: F401  (signals, checks, OpenAPI extensions)
        from .requestlog import hide_upload_secrets_in_django_logs

        hide_upload_secrets_in_django_logs()

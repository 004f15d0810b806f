"""Settings of the glance_api project, read from the environment (docs/configuration.md)."""

import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from glance_api.conf import DEFAULTS as GLANCE_API_DEFAULTS
from glance_api.conf import SPECTACULAR_SETTINGS as GLANCE_API_SPECTACULAR_SETTINGS

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "Set DJANGO_SECRET_KEY to a long random string (for example the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`): with "
            "DJANGO_DEBUG off this project does not start with a known key."
        )
    SECRET_KEY = "django-insecure-glance-api-development-key"  # DJANGO_DEBUG=1 only
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "glance_api",
]

MIDDLEWARE = [
    # X-OpenStack-Request-ID on every answer, passed to Glance; one JSON log line each.
    "glance_api.requestlog.RequestIdMiddleware",
    # Reads what an answer left of a request body, so gunicorn keeps the connection for
    # the next request (glance_api.draining; the app's own views do it without this).
    "glance_api.draining.DrainRequestBodyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves the browsable API's and Swagger UI/ReDoc's assets under gunicorn too.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Long-polls (Prefer: wait) served in the event loop under ASGI (project.asgi);
    # under WSGI it passes every request on.
    "glance_api.watch.middleware.WatchMiddleware",
]
# The ASGI server (project.asgi) runs every middleware in its event loop: WhiteNoise's
# runs only in a thread, and each wait would hold one (its static files are served by
# nginx or the WSGI instances there, and by Django's ASGI static handler with DEBUG on).
if os.environ.get("DJANGO_ASGI") == "1":
    MIDDLEWARE.remove("whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ],
        },
    },
]

# Only sessions live here (images live in Glance, sign-ins in the session); with the
# sessions in the cache (DJANGO_SESSION_ENGINE), "none" runs with no database at all.
DB_PATH = os.environ.get("DJANGO_DB_PATH", str(BASE_DIR / "var" / "db.sqlite3"))
DATABASES = (
    {}
    if DB_PATH == "none"
    else {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DB_PATH},
    }
)

CACHES = {
    "default": {
        "BACKEND": os.environ.get(
            "DJANGO_CACHE_BACKEND", "django.core.cache.backends.locmem.LocMemCache"
        ),
        "LOCATION": os.environ.get("DJANGO_CACHE_LOCATION", "glance-api"),
    }
}

# Sessions in the cache when several instances share it (Redis): no shared SQL database.
SESSION_ENGINE = os.environ.get("DJANGO_SESSION_ENGINE", "django.contrib.sessions.backends.db")

AUTHENTICATION_BACKENDS = ["glance_api.auth.KeystoneBackend"]
LOGIN_URL = "rest_framework:login"
LOGIN_REDIRECT_URL = "glance_api:api-root"
LOGOUT_REDIRECT_URL = "glance_api:api-root"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# HTTPS: HSTS, the redirect of plain HTTP, and the header a TLS-terminating proxy sets.
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):  # only behind a proxy that sets it
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
STATIC_URL = "static/"
# Where collectstatic puts the files, if it is run (none by default: not needed, as
# WhiteNoise serves them straight from the apps' static folders).
STATIC_ROOT = os.environ.get("DJANGO_STATIC_ROOT") or None
WHITENOISE_USE_FINDERS = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "glance_api.handlers.exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "glance_api.auth.KeystoneTokenAuthentication",
        "glance_api.auth.KeystoneSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}


def _version() -> str:
    try:
        return version("glance-api")
    except PackageNotFoundError:  # the checkout on sys.path, not installed
        return "0+unknown"


SPECTACULAR_SETTINGS = {
    "TITLE": "Glance API",
    "DESCRIPTION": "A documented HTTP API over OpenStack Glance: images, image data and "
    "metadata definitions. Sign in with a Keystone token (X-Auth-Token) or a session.",
    "VERSION": _version(),
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    **GLANCE_API_SPECTACULAR_SETTINGS,
}


def _parse(name: str, default):
    if isinstance(default, bool):
        return env_bool(name, default)
    if isinstance(default, int):
        return env_int(name, default)
    return os.environ[name] or None


# Every app setting can be set as GLANCE_API_<NAME>, e.g. GLANCE_API_KEYSTONE_URL.
GLANCE_API = {
    name: _parse(f"GLANCE_API_{name}", default)
    for name, default in GLANCE_API_DEFAULTS.items()
    if f"GLANCE_API_{name}" in os.environ
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # the development server's request lines (django.server) as Django writes them, and
    # everything else, with an upload URL's secret left out (the app also filters Django's
    # loggers that write a request's path: glance_api.requestlog.PATH_LOGGERS)
    "filters": {"upload_secrets": {"()": "glance_api.requestlog.HideUploadSecrets"}},
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["upload_secrets"]},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "glance_api": {"level": os.environ.get("GLANCE_API_LOG_LEVEL", "INFO")},
        "django.server": {
            "handlers": ["django.server"],
            "level": "INFO",
            "propagate": False,
            "filters": ["upload_secrets"],
        },
        # uvicorn's request lines (make run, and the asynchronous instances)
        "uvicorn.access": {
            "handlers": ["console"],
            "level": "INFO",
            "propagate": False,
            "filters": ["upload_secrets"],
        },
    },
}

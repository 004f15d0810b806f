"""The app's settings: one ``GLANCE_API`` dict in the project's settings, over these defaults.

Read through ``glance_api.conf.settings.NAME``; values are looked up on every access, so
``override_settings(GLANCE_API=...)`` works in tests.
"""

from django.conf import settings as django_settings

DEFAULTS = {
    # Keystone v3 endpoint that validates tokens and signs users in.
    "KEYSTONE_URL": "http://127.0.0.1:5000/v3",
    # Which image endpoint of the token's catalog to use.
    "REGION_NAME": None,
    "INTERFACE": "public",
    # Use this Glance URL instead of the catalog's (for example behind a proxy).
    "GLANCE_URL": None,
    # TLS: verify certificates (False to switch off), with an optional CA bundle path.
    "VERIFY": True,
    "CA_FILE": None,
    # Seconds to wait for Keystone or Glance before answering 504.
    "TIMEOUT": 30,
    # How long a token validation is cached (never past the token's expiry); 0 turns it off.
    "TOKEN_CACHE_SECONDS": 60,
    # While Keystone cannot answer (it restarts, its database does), a token validated
    # within this many seconds more is still taken (never past its expiry; as Glance's
    # keystonemiddleware keeps its validations 300 s); 0: never.
    "TOKEN_STALE_SECONDS": 300,
    # Domain for sign-in when the login form leaves it empty.
    "DEFAULT_DOMAIN": "Default",
    # Django cache alias used for token validations and other short-lived data.
    "CACHE_ALIAS": "default",
    # Connections kept open to each of Keystone and Glance, per process.
    "POOL_MAXSIZE": 16,
    # Take proxies (HTTP_PROXY, NO_PROXY, ...) and .netrc from the environment, as requests
    # does by default; False skips that lookup on every call to Keystone and Glance.
    "TRUST_ENV": True,
    # Let a create with image_url and import_data false use the URL as the image's location
    # (Glance then reads from it whenever the image is used), like the dashboard's
    # IMAGES_ALLOW_LOCATION; off, such a create is a 400 (import_data true still works).
    "ALLOW_IMAGE_LOCATION": False,
    # How long the upload URL that a file-direct create answers with stays usable (once).
    "UPLOAD_URL_SECONDS": 900,
    # Uploads of image data one user may have running at a time (across the instances
    # that share the cache); beyond, a 429 with Retry-After. 0: no limit.
    "UPLOADS_PER_USER": 4,
    # Images per page with paginate=true.
    "PAGE_SIZE": 20,
    # Metadata definitions: how long a caller's namespace list is cached (0: not at all),
    # and how many namespaces are fetched from Glance at once (per process).
    "METADEFS_CACHE_SECONDS": 60,
    # While Glance cannot answer, an entry past METADEFS_CACHE_SECONDS is still served for
    # this many seconds more (stale-if-error); 0: never.
    "METADEFS_STALE_SECONDS": 3600,
    "METADEFS_WORKERS": 8,
    # How long Glance's versions document (what require_version asks, for every call that
    # needs a version) is cached per Glance endpoint; served stale-if-error as the
    # metadefs are (METADEFS_STALE_SECONDS). 0: not at all.
    "VERSIONS_CACHE_SECONDS": 60,
    # A request body the answer did not need (a 401, 404 or 409 to an upload) is read off
    # the connection before the answer goes, up to this many bytes and seconds, so that
    # the connection can carry the next request (glance_api.draining); past either, the
    # server closes it.
    "DRAIN_MAX_BYTES": 8 * 1024 * 1024,
    "DRAIN_SECONDS": 5,
    # With oslo.utils before 7.3 (no format inspector), a multipart create whose formats
    # come after its file keeps the file aside until they come: at most this many bytes
    # (then a 413 that says to send the formats first).
    "SPOOL_MAX_BYTES": 1024**3,
    # The sign-in form: after this many failed sign-ins of one user (username and domain)
    # within SIGN_IN_WINDOW_SECONDS, it refuses that user's sign-ins, without asking
    # Keystone, until the window has passed; a successful sign-in starts anew.
    "SIGN_IN_ATTEMPTS": 5,
    "SIGN_IN_WINDOW_SECONDS": 300,
    # Most items one list answer gives (and the cap of a client's limit).
    "RESULT_LIMIT": 1000,
    # Image bytes carried by nginx instead of the app (glance_api.dataplane.accel): the secret nginx
    # sends in X-Glance-Api-Accel (deploy/nginx.conf). None: the app streams them itself.
    "ACCEL_SECRET": None,
    # Watching images (docs: watching): progress/'s "stalled" once a queued or uploading
    # image has had nothing happen for this many seconds.
    "STALL_SECONDS": 300,
    # The longest wait a client's Prefer: wait=N gets (long-polls), in seconds.
    "WATCH_MAX_WAIT": 60,
    # How often Glance is asked about what someone waits on (once per endpoint, project
    # and query across every instance), while anyone waits.
    "WATCH_POLL_SECONDS": 2,
    # How long images/events/ keeps what it sent, for a client that comes back with
    # Last-Event-ID.
    "WATCH_REPLAY_SECONDS": 300,
    # The Redis the instances share their polling of Glance through ("redis://..."); None:
    # the Redis of CACHE_ALIAS when that cache is Redis, else each process polls alone.
    "WATCH_REDIS_URL": None,
    # Finding images (docs: finding): a search by part of a name (images/?q=) reads the
    # names of at most this many images of the list (its answer says when there were more).
    "SEARCH_MAX_IMAGES": 20000,
    # How long the names a search read are kept (per Glance endpoint, project, roles,
    # filters and sort; in CACHE_ALIAS, so shared by the instances): the next page, a
    # repeated or a narrower search within it reads no names again. 0: not kept.
    "SEARCH_CACHE_SECONDS": 10,
    # name=<text> (without in:) finds the images whose name contains the text, as q does,
    # where Glance's own filter takes whole names only: for the dashboard's Name facet
    # (docs: finding, "In the dashboard"). Off: the name filter is Glance's, whole names.
    "NAME_FILTER_MATCHES_PART": False,
}


class AppSettings:
    def __getattr__(self, name: str):
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown glance_api setting {name!r}")
        return getattr(django_settings, "GLANCE_API", {}).get(name, DEFAULTS[name])

    @property
    def verify(self) -> bool | str:
        """What requests takes as ``verify``: False, True, or a CA bundle path."""
        if not self.VERIFY:
            return False
        return self.CA_FILE or True


settings = AppSettings()


# drf-spectacular settings the app's schema needs, wherever it is served (its SchemaView
# uses them; the project's SPECTACULAR_SETTINGS include them for `manage.py spectacular`):
# images and namespaces both have a field "visibility", with other choices.
SPECTACULAR_SETTINGS = {
    "ENUM_NAME_OVERRIDES": {
        "VisibilityEnum": "glance_api.serializers.images.VISIBILITIES",
        "NamespaceVisibilityEnum": "glance_api.serializers.metadef_writes.VISIBILITIES",
        "PropertyTypeEnum": "glance_api.serializers.metadef_writes.PROPERTY_TYPES",
    },
    # drf-spectacular's own hook, then the app's: the headers of the long-polls' answers
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "glance_api.schema.document_wait_headers",
    ],
}

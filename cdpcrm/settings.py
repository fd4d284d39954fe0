"""Settings for cdpcrm, every knob read from the environment.

The defaults are the embedded mode (`make run` on a fresh machine): a SQLite file, eager Celery,
DEBUG on. Production sets DEBUG=0, SECRET_KEY, MAIL_ENCRYPTION_KEY, ALLOWED_HOSTS, DATABASE_URL and
CELERY_BROKER_URL.
"""

import base64
import hashlib
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-embedded-mode-key-only-for-local-development"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "corsheaders",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "phonenumber_field",
    "simple_history",
    "csp",
    "axes",
    "common.security",
    "cdpcrm",
    "contacts",
    "contacts.mail",
    "pipeline",
    "tickets",
    "profiles",
    "profiles.connectors",
    "segments",
    "segments.journeys",
    "segments.webhooks",
    "segments.audiences",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "cdpcrm.middleware.TrackingFastPathMiddleware",
    "cdpcrm.middleware.QueryNulStripMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "cdpcrm.middleware.LoginRequiredExceptApiMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last: turns a locked-out login into the lockout page (cdpcrm.account.login_locked_out).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cdpcrm.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cdpcrm.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "cdpcrm.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dev server read while a request writes; busy timeout instead of "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE) serve PostgreSQL; SQLite builds the same index without the extra column.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
# Phone numbers typed without a country code are read in this region, then stored as E.164.
PHONENUMBER_DEFAULT_REGION = os.environ.get("PHONENUMBER_DEFAULT_REGION", "US")
PHONENUMBER_DB_FORMAT = "E164"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
# One date format on every page (cdpcrm/formats/en/formats.py): "12 May 2026" and "12 May 2026, 14:05".
FORMAT_MODULE_PATH = ["cdpcrm.formats"]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "cdpcrm.storage.StaticStorage"
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "media/"

# Email: console in the embedded mode, SMTP (EMAIL_URL-style knobs) in production.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "support@cdpcrm.local")

# Mailboxes (contacts.mail): IMAP/SMTP passwords are encrypted at rest with Fernet. MAIL_ENCRYPTION_KEY holds
# one or more comma-separated Fernet keys (the first encrypts, all decrypt, so a key can be rotated); the
# embedded mode derives one from SECRET_KEY, production refuses to start without it (docs/operations.md).
MAIL_ENCRYPTION_KEYS = env_list("MAIL_ENCRYPTION_KEY", "")
if not MAIL_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "MAIL_ENCRYPTION_KEY must be set when DEBUG is off (a Fernet key: python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
        )
    MAIL_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(b"cdpcrm-mail:" + SECRET_KEY.encode()).digest()).decode()
    ]
# Every mailbox is polled this often; a first sync or a long backlog goes on in batches of MAIL_SYNC_BATCH
# messages, at most MAIL_POLL_BUDGET per task run before the task hands over to a fresh one.
MAIL_POLL_SECONDS = env_int("MAIL_POLL_SECONDS", 60)
MAIL_SYNC_BATCH = env_int("MAIL_SYNC_BATCH", 200)
MAIL_POLL_BUDGET = env_int("MAIL_POLL_BUDGET", 2000)
MAIL_TIMEOUT_SECONDS = env_int("MAIL_TIMEOUT_SECONDS", 30)
# Extra CA certificates (a PEM file) to trust for IMAP/SMTP over TLS, e.g. a company's private CA.
MAIL_TLS_CA_FILE = os.environ.get("MAIL_TLS_CA_FILE", "")
# A message larger than this keeps its headers only; an attachment larger than this is listed, not kept.
MAIL_MAX_MESSAGE_BYTES = env_int("MAIL_MAX_MESSAGE_BYTES", 25 * 1024 * 1024)
MAIL_MAX_ATTACHMENT_BYTES = env_int("MAIL_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)
# Absolute address of this site, for the open pixel and click links in tracked e-mails.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Tickets: the inbound mail relay signs POST /api/tickets/inbound-email/ with this shared secret
# (docs/api.md, "Inbound email"). Embedded mode uses a documented dev secret; unset in production
# means inbound email answers 503 "not configured".
INBOUND_EMAIL_SECRET = os.environ.get("INBOUND_EMAIL_SECRET", "dev-inbound-email-secret" if DEBUG else "")
# A running SLA target due within this many minutes shows as "at risk".
TICKETS_SLA_AT_RISK_MINUTES = env_int("TICKETS_SLA_AT_RISK_MINUTES", 60)

# Security: strict in production, relaxed only where DEBUG serves plain http on localhost.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Only `make serve-prod` (production stack over plain http on localhost) turns these off.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
# Login brute-force protection (django-axes): LOGIN_FAILURE_LIMIT failed logins for one user name from one
# IP address lock that pair for LOGIN_COOLOFF_MINUTES; a successful login resets the count. Applies to the
# site's login page and the admin login alike. The client address is REMOTE_ADDR unless
# LOGIN_TRUSTED_PROXY_COUNT (the number of reverse proxies in front) says to read X-Forwarded-For.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failed attempts are kept (until the cool-off); successful logins are not
AXES_VERBOSE = False  # no "AXES: BEGIN ..." banner on every manage.py command and worker start
AXES_LOCKOUT_CALLABLE = "cdpcrm.account.login_locked_out"
if env_int("LOGIN_TRUSTED_PROXY_COUNT", 0):
    AXES_IPWARE_PROXY_COUNT = env_int("LOGIN_TRUSTED_PROXY_COUNT", 0)
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): scripts only from this origin, no inline script or event handler
# (page scripts live in static files and read their data from json_script blocks or data- attributes).
# Styles allow inline `style` attributes, which templates, the admin and the vendored libraries set; an
# inline style cannot run code. CSP_REPORT_ONLY=1 sends the policy as report-only (to try a change out).
_CSP = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
if env_bool("CSP_REPORT_ONLY", False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP
else:
    CONTENT_SECURITY_POLICY = _CSP

# Caches: Redis when REDIS_URL/CACHE_URL is set (shared rate limits across workers), local memory otherwise.
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes a bad or missing credential a 401, not a 403.
        "common.security.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["common.permissions.ModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "common.renderers.SafeJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "common.api.PageNumberPagination",
    "PAGE_SIZE": 50,
    # One error shape for every 400 (see common/api.py) and 409 for protected deletes.
    "EXCEPTION_HANDLER": "common.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 500)  # ?page_size= is honoured up to this
SPECTACULAR_SETTINGS = {
    "TITLE": "cdpcrm API",
    "DESCRIPTION": "REST API of the cdpcrm CRM + CDP. Authenticate with `Authorization: Token <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets that share a field name across apps get explicit component names.
    "ENUM_NAME_OVERRIDES": {
        "StageKindEnum": "pipeline.models.Stage.Kind",
        "ActivityKindEnum": "contacts.models.Activity.Kind",
        "LoyaltyNoteKindEnum": "contacts.models.LoyaltyNote.Kind",
        "SourceKindEnum": "profiles.models.Source.Kind",
    },
}

# CDP ingestion: requests per write key ("N/s", "N/m" or "N/h"; "0" = off), the age after which the
# sweeper re-enqueues an unprocessed inbox batch, and how long browsers cache the analytics.js settings.
TRACKING_RATE_LIMIT = os.environ.get("TRACKING_RATE_LIMIT", "1000/s")
INGEST_SWEEP_AFTER_SECONDS = env_int("INGEST_SWEEP_AFTER_SECONDS", 60)
# A worker claims up to this many waiting batches of one source (at most this many events) per transaction.
INGEST_GROUP_BATCHES = env_int("INGEST_GROUP_BATCHES", 100)
INGEST_GROUP_EVENTS = env_int("INGEST_GROUP_EVENTS", 5000)
# While a drain task of a source is queued, new requests do not queue another (the flag expires after this).
INGEST_DRAIN_FLAG_SECONDS = env_int("INGEST_DRAIN_FLAG_SECONDS", 10)
# A queued drain starts this long after the request that queued it, gathering the requests behind it.
INGEST_DRAIN_DELAY_MS = env_int("INGEST_DRAIN_DELAY_MS", 250)
# A batch that failed as a whole this many times is set aside (its events rejected with the reason).
INGEST_MAX_ATTEMPTS = env_int("INGEST_MAX_ATTEMPTS", 3)
# Batches waiting longer than this make /healthz report ingestion as degraded.
INGEST_STUCK_AFTER_SECONDS = env_int("INGEST_STUCK_AFTER_SECONDS", 300)
# /readyz: workers are stale when beat's 30-second heartbeat has not been run for this long.
WORKER_STALE_AFTER_SECONDS = env_int("WORKER_STALE_AFTER_SECONDS", 90)
INGEST_BATCH_RETENTION_DAYS = env_int("INGEST_BATCH_RETENTION_DAYS", 7)  # processed inbox rows kept
ANALYTICS_SETTINGS_MAX_AGE = env_int("ANALYTICS_SETTINGS_MAX_AGE", 300)
# The space id in Segment-style Profile API paths (/v1/spaces/<id>/collections/users/profiles/...).
PROFILE_API_SPACE_ID = os.environ.get("PROFILE_API_SPACE_ID", "cdpcrm")

# Identity resolution: identifier values that never link profiles (comma-separated, case-insensitive),
# and traits that are external ids ("trait:namespace,..." -> identity kind external:<namespace>).
IDENTITY_BLOCKED_VALUES = os.environ.get(
    "IDENTITY_BLOCKED_VALUES", "null,undefined,none,nil,0,-1,nan,unknown,anonymous"
).split(",")
IDENTITY_EXTERNAL_TRAITS = dict(
    item.split(":", 1)
    for item in os.environ.get("IDENTITY_EXTERNAL_TRAITS", "shop_customer_id:shop").split(",")
    if ":" in item
)

# CORS: only the tracking API is open to other origins (browsers running analytics.js or RudderStack's SDK
# post there, and the latter loads /sourceConfig/). The request headers are the ones those SDKs send:
# analytics-next adds X-Retry-Count on a retry; RudderStack's v3 SDK sends AnonymousId, SentAt and, on
# retries, Rsa-*. Retry-After and X-RateLimit-Reset are exposed so that they can honour a 429.
# Not the Profile API under /v1/spaces/ (as at Segment: its token reads every customer's data).
CORS_URLS_REGEX = r"^/(v1/(?!spaces/)|beacon/|sourceConfig/).*$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "content-encoding",
    "user-agent",
    "x-requested-with",
    "x-retry-count",
    "anonymousid",
    "sentat",
    "rsa-recovered",
    "rsa-retry-attempt",
    "rsa-retry-reason",
    "rsa-since-first-attempt",
    "rsa-since-last-attempt",
]
CORS_EXPOSE_HEADERS = ["Retry-After", "X-RateLimit-Reset"]
CORS_PREFLIGHT_MAX_AGE = 86400

# Celery: eager (in-process) unless a broker is configured.
CELERY_TASK_ALWAYS_EAGER = not os.environ.get("CELERY_BROKER_URL")
# Eager mode still builds a (never used) producer on some calls: an in-memory transport keeps that off the
# network instead of kombu falling back to amqp://localhost.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker outage must never end the worker: reconnect for as long as it takes (Celery's default gives up
# after 100 attempts, about 45 minutes of backoff, and the worker exits).
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# A task running when the connection drops finishes; its late ack is lost with the connection, so the
# broker redelivers it and the second run is a no-op (tasks are idempotent). Stated, as Celery 6 flips it.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [
    Queue(name) for name in ("default", "ingest", "segments", "journeys", "activation", "email")
]
CELERY_TASK_ROUTES = {
    "cdpcrm.tasks.*": {"queue": "ingest"},
    "profiles.*": {"queue": "ingest"},
    "segments.tasks.segment_*": {"queue": "segments"},
    "segments.tasks.destination_*": {"queue": "activation"},
    "segments.journeys.tasks.*": {"queue": "journeys"},
    "segments.webhooks.tasks.*": {"queue": "activation"},
    "segments.audiences.tasks.*": {"queue": "activation"},
    "tickets.tasks.*": {"queue": "email"},
    "mail.tasks.*": {"queue": "email"},
}
CELERY_BEAT_SCHEDULE: dict = {
    # /readyz reports the workers stale when this heartbeat row is older than WORKER_STALE_AFTER_SECONDS.
    "workers-heartbeat": {"task": "cdpcrm.tasks.worker_heartbeat_task", "schedule": 30.0},
    "profiles-sweep-inbox": {"task": "profiles.tasks.batches_sweep_task", "schedule": 30.0},
    "profiles-purge-inbox": {"task": "profiles.tasks.batches_purge_task", "schedule": 3600.0},
    "profiles-computed-traits": {"task": "profiles.tasks.computed_traits_recompute_task", "schedule": 3600.0},
    # Shop checkouts left open past their source's delay become Cart Abandoned (indexed rows, per shop).
    "connectors-carts-abandon": {"task": "profiles.connectors.tasks.carts_abandon_task", "schedule": 60.0},
    "connectors-purge": {"task": "profiles.connectors.tasks.connectors_purge_task", "schedule": 3600.0},
    "segments-recompute-all": {"task": "segments.tasks.segment_recompute_all_task", "schedule": 3600.0},
    "segments-windows-schedule": {"task": "segments.tasks.segment_windows_schedule_task", "schedule": 1800.0},
    # Windows close within this many seconds of their moment, in both modes (indexed rows, no etas).
    "segments-windows-due": {"task": "segments.tasks.segment_windows_due_task", "schedule": 5.0},
    "segments-deliveries-due": {"task": "segments.tasks.destination_deliveries_due_task", "schedule": 60.0},
    "tickets-emails-sweep": {"task": "tickets.tasks.ticket_emails_sweep", "schedule": 300.0},
    # Journey timers are indexed due times claimed in batches (no etas): steps run within ~5 s of their time.
    "journeys-due": {"task": "segments.journeys.tasks.journeys_due_task", "schedule": 5.0},
    "journeys-step-counts": {
        "task": "segments.journeys.tasks.journeys_step_counts_reconcile_task",
        "schedule": 3600.0,
    },
    "webhooks-sweep": {"task": "segments.webhooks.tasks.webhooks_sweep_task", "schedule": 30.0},
    "audiences-sync-due": {"task": "segments.audiences.tasks.audiences_sync_due_task", "schedule": 60.0},
    "mail-poll-due": {"task": "mail.tasks.mailboxes_poll_due_task", "schedule": float(MAIL_POLL_SECONDS)},
    "mail-sends-sweep": {"task": "mail.tasks.mail_sends_sweep_task", "schedule": 300.0},
}
CELERY_TIMEZONE = TIME_ZONE

# Outbound requests (webhooks, audience destinations) never reach private, loopback or link-local
# addresses, except to these hosts (admins can also allow hosts in the admin: Webhooks > Allowed hosts).
OUTBOUND_ALLOWED_HOSTS = env_list("OUTBOUND_ALLOWED_HOSTS", "")
# Due journey steps claimed (and run) per transaction by the sweeper.
JOURNEYS_SWEEP_BATCH = env_int("JOURNEYS_SWEEP_BATCH", 1000)
# An arriving event enrols on event triggers however late the pipeline stored it, unless the event itself is
# older than this (a historical import or a replay must not send old customers through welcome journeys).
JOURNEYS_EVENT_MAX_AGE_HOURS = env_int("JOURNEYS_EVENT_MAX_AGE_HOURS", 72)
if CELERY_BROKER_URL.startswith("redis"):
    # A task whose worker died is redelivered after this many seconds (Redis has no per-consumer acks).
    # health_check_interval: redis-py PINGs an idle connection before using it, so a connection a restarted
    # Redis (or a proxy) dropped is noticed and replaced instead of failing the next command.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 300),
        "health_check_interval": 25,
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # In the embedded mode every task runs in-process: one line per task would drown the console.
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"},
    },
}

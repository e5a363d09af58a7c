"""One settings module for every environment.

MIGRAYT_ENV picks the safe defaults (development, test or production); every other difference comes from
environment variables read through migrayt.env, which stop start-up with a message naming a bad value.
"""

import secrets
from pathlib import Path

import dj_database_url

from migrayt.env import (
    ConfigurationError,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("MIGRAYT_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

MIGRAYT_ENV = env_choice("MIGRAYT_ENV", "development", ("development", "test", "production"))
PRODUCTION = MIGRAYT_ENV == "production"
DEBUG = env_bool("DJANGO_DEBUG", MIGRAYT_ENV == "development")


def _local_secret(name: str, make) -> str:
    """A secret for the embedded set-up, made once and kept under var/ so restarts keep sessions."""
    path = VAR_DIR / name
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env_str("DJANGO_SECRET_KEY", required=PRODUCTION) or _local_secret(
    "secret_key", lambda: secrets.token_urlsafe(50)
)
if PRODUCTION and len(SECRET_KEY) < 50:
    raise ConfigurationError("DJANGO_SECRET_KEY must be at least 50 characters in production.")

# Connection secrets (tokens) are encrypted at rest with these Fernet keys, newest first: the first
# encrypts, all decrypt, and `manage.py rotate_encryption_keys` moves every secret to the first.
from cryptography.fernet import Fernet as _Fernet  # noqa: E402

ENCRYPTION_KEYS = env_list("MIGRAYT_ENCRYPTION_KEYS", [])
if not ENCRYPTION_KEYS:
    if PRODUCTION:
        raise ConfigurationError(
            "MIGRAYT_ENCRYPTION_KEYS is required in production: comma-separated Fernet keys, newest first "
            "(make one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
        )
    ENCRYPTION_KEYS = [_local_secret("encryption_key", lambda: _Fernet.generate_key().decode())]
for _position, _key in enumerate(ENCRYPTION_KEYS, start=1):
    try:
        _Fernet(_key)
    except (ValueError, TypeError):
        raise ConfigurationError(
            f"MIGRAYT_ENCRYPTION_KEYS: key number {_position} is not a Fernet key (32 url-safe base64 bytes)."
        ) from None
# Connections may reach loopback and private addresses only where this is on: the local sandbox lives on
# 127.0.0.1. Production refuses them (server-side request forgery guard, apps/connections/connectors/ssrf.py).
ALLOW_PRIVATE_URLS = env_bool("MIGRAYT_ALLOW_PRIVATE_URLS", not PRODUCTION)
# Where secrets live (apps/connections/secret_store.py): encrypted in the database, or AWS Secrets Manager
# (the database then keeps only each secret's ARN). Region and endpoint as for S3; the endpoint is for tests.
SECRET_STORE = env_choice("MIGRAYT_SECRET_STORE", "database", ("database", "aws_secrets_manager"))
SECRETS_MANAGER_REGION = (env_str("MIGRAYT_SECRETS_MANAGER_REGION") or env_str("AWS_REGION")
                          or env_str("AWS_DEFAULT_REGION"))
SECRETS_MANAGER_PREFIX = env_str("MIGRAYT_SECRETS_MANAGER_PREFIX", "migrayt/")
SECRETS_MANAGER_KMS_KEY_ID = env_str("MIGRAYT_SECRETS_MANAGER_KMS_KEY_ID", "") or ""
SECRETS_MANAGER_ENDPOINT_URL = env_url("MIGRAYT_SECRETS_MANAGER_ENDPOINT_URL", None,
                                       ("https",) if PRODUCTION else ("https", "http"))
if SECRET_STORE == "aws_secrets_manager" and not SECRETS_MANAGER_REGION:  # noqa: S105 - a store name, not a secret
    raise ConfigurationError("MIGRAYT_SECRETS_MANAGER_REGION (or AWS_REGION) is required when "
                             "MIGRAYT_SECRET_STORE=aws_secrets_manager.")

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ConfigurationError("DJANGO_ALLOWED_HOSTS is required in production (comma-separated host names).")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# Public URL of this deployment, used in e-mails and links back from destinations.
SITE_URL = env_url("MIGRAYT_SITE_URL", "http://127.0.0.1:8000", ("http", "https"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apps.core",
    "apps.accounts",
    "apps.connections",
    "apps.catalog",
    "apps.mappings",
    "apps.runs",
    "djstripe",
    "apps.billing",
]

# The sandbox emulates Azure DevOps and Jira for the demo, tests and benchmarks. Never on in production
# unless someone asks for it explicitly.
SANDBOX_ENABLED = env_bool("MIGRAYT_SANDBOX_ENABLED", not PRODUCTION)
if SANDBOX_ENABLED:
    INSTALLED_APPS += ["apps.sandbox", "apps.sandbox.ado", "apps.sandbox.jira"]
    INSTALLED_APPS += ["apps.sandbox.oauth"]  # authorization servers: Atlassian 3LO, Entra ID, OIDC

# enterprise: OAuth connections (apps/connections/oauth.py) through Migrayt's own apps registered with Atlassian
# (OAuth 2.0 3LO) and Microsoft Entra ID. With the sandbox on and nothing set, both use the sandbox's servers.
_OAUTH_SANDBOX = f"{SITE_URL}/sandbox/oauth" if SANDBOX_ENABLED else ""
_OAUTH_SCHEMES = ("https",) if PRODUCTION else ("https", "http")
ATLASSIAN_CLIENT_ID = env_str("MIGRAYT_ATLASSIAN_CLIENT_ID", "migrayt-sandbox-atlassian" if SANDBOX_ENABLED else "") or ""
ATLASSIAN_CLIENT_SECRET = env_str("MIGRAYT_ATLASSIAN_CLIENT_SECRET", "") or (
    _local_secret("sandbox_atlassian_client_secret", lambda: secrets.token_urlsafe(32))
    if ATLASSIAN_CLIENT_ID.startswith("migrayt-sandbox-") else "")
ATLASSIAN_AUTH_URL = env_url("MIGRAYT_ATLASSIAN_AUTH_URL", f"{_OAUTH_SANDBOX}/atlassian" if SANDBOX_ENABLED
                             else "https://auth.atlassian.com", _OAUTH_SCHEMES)
ATLASSIAN_API_URL = env_url("MIGRAYT_ATLASSIAN_API_URL", f"{_OAUTH_SANDBOX}/atlassian" if SANDBOX_ENABLED
                            else "https://api.atlassian.com", _OAUTH_SCHEMES)
ENTRA_CLIENT_ID = env_str("MIGRAYT_ENTRA_CLIENT_ID", "migrayt-sandbox-entra" if SANDBOX_ENABLED else "") or ""
ENTRA_CLIENT_SECRET = env_str("MIGRAYT_ENTRA_CLIENT_SECRET", "") or (
    _local_secret("sandbox_entra_client_secret", lambda: secrets.token_urlsafe(32))
    if ENTRA_CLIENT_ID.startswith("migrayt-sandbox-") else "")
ENTRA_TENANT = env_str("MIGRAYT_ENTRA_TENANT", "organizations")
ENTRA_AUTHORITY = env_url("MIGRAYT_ENTRA_AUTHORITY", f"{_OAUTH_SANDBOX}/entra" if SANDBOX_ENABLED
                          else "https://login.microsoftonline.com", _OAUTH_SCHEMES)
INSTALLED_APPS += ["apps.sso", "apps.webhooks"]  # single sign-on per organisation (OIDC); outgoing webhooks

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.accounts.middleware.CurrentOrganisationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "migrayt.urls"
WSGI_APPLICATION = "migrayt.wsgi.application"

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
                "apps.core.context_processors.product",
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL says otherwise.
_database_url = env_url(
    "DATABASE_URL", f"sqlite:///{VAR_DIR / 'migrayt.sqlite3'}", ("sqlite", "postgres", "postgresql")
)
try:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60))}
except ValueError as exc:
    raise ConfigurationError(f"DATABASE_URL could not be read: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # The web server and the worker write to the same file: WAL and an immediate write lock keep
        # them from tripping over each other.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file, not memory, so that a worker process started by a test sees the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-migrayt.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": VAR_DIR / "media"}},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
    # Attachments on their way from the source to the destination (apps/core/storage.py).
    "staged": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": VAR_DIR / "staged"}},
}
# deploy: S3 for staged attachments. On AWS the bucket is private, encrypted and expires objects after a
# day (deploy/terraform/modules/data); credentials come from the task's IAM role, never from variables.
S3_BUCKET = env_str("MIGRAYT_S3_BUCKET")
if S3_BUCKET:
    S3_REGION = env_str("MIGRAYT_S3_REGION") or env_str("AWS_REGION") or env_str("AWS_DEFAULT_REGION")
    if not S3_REGION:
        raise ConfigurationError("MIGRAYT_S3_REGION (or AWS_REGION) is required when MIGRAYT_S3_BUCKET is set.")
    from botocore.config import Config as _BotoConfig

    STORAGES["staged"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "region_name": S3_REGION,
            # Only for S3-compatible servers (tests use moto); AWS itself needs no endpoint.
            "endpoint_url": env_url("MIGRAYT_S3_ENDPOINT_URL", None, ("https",) if PRODUCTION else ("https", "http")),
            "location": "staged",
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
            "querystring_expire": 300,
            "object_parameters": {"ServerSideEncryption": "aws:kms"}
            | ({"SSEKMSKeyId": env_str("MIGRAYT_S3_KMS_KEY_ID")} if env_str("MIGRAYT_S3_KMS_KEY_ID") else {}),
            "client_config": _BotoConfig(
                # boto3 >= 1.36 adds checksums that S3-compatible services reject; AWS accepts both ways.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                retries={"max_attempts": 5, "mode": "standard"},
            ),
        },
    }

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "Migrayt <no-reply@migrayt.local>")

# Security. Production turns every protection on; the embedded set-up runs over plain HTTP on loopback.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-less meta tag, not the cookie
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# The load balancer's health check reaches /healthz over plain HTTP inside the VPC.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.accounts.permissions.IsOrganisationMember"],
    "DEFAULT_SCHEMA_CLASS": "apps.core.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.exceptions.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_THROTTLE_RATES": {"anon": "60/min", "user": "600/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Migrayt API",
    "DESCRIPTION": (
        "Move project data between Azure DevOps Boards and Jira. Authenticate with a personal API token "
        "(`Authorization: Bearer <token>`); every object belongs to the token's organisation. Errors are "
        '`{"message": ..., "extra": {...}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "PREPROCESSING_HOOKS": ["apps.core.openapi.public_api_only"],
    # Choice sets that share a field name ("role", "kind") get stable names instead of numbered ones.
    "ENUM_NAME_OVERRIDES": {
        "MembershipRoleEnum": "apps.accounts.models.Membership.Role",
        "ConnectionKindEnum": "apps.connections.models.Connection.Kind",
    },
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI is served from our own static files: no CDN is reachable, and enterprise CSPs forbid them.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery. The embedded default is kombu's filesystem transport under var/broker: a real broker with a real
# worker process and no server. redis:// and sqs:// take over when CELERY_BROKER_URL names them.
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL", "filesystem://", ("filesystem", "redis", "rediss", "sqs", "memory")
)
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # kombu keeps its exchange tables in ./control unless told: keep them under var/ with the rest.
        "control_folder": str(_broker_dir / "control"),
    }
# Results are written to our own tables by the services the tasks call; Celery keeps none.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_DEFAULT_QUEUE", "migrayt")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# How often a worker records that it is alive, and how old that record may be before /healthz worries.
WORKER_HEARTBEAT_SECONDS = env_int("MIGRAYT_WORKER_HEARTBEAT_SECONDS", 15, minimum=1)
# Every worker sends runs.purge_expired_previews this often (migrayt/celery.py PeriodicTasksStep).
RUNS_PURGE_EVERY_SECONDS = env_int("MIGRAYT_RUNS_PURGE_EVERY_SECONDS", 3600, minimum=1)
WORKER_STALE_SECONDS = env_int("MIGRAYT_WORKER_STALE_SECONDS", 90, minimum=1)
if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
    raise ConfigurationError("CELERY_TASK_SOFT_TIME_LIMIT must be shorter than CELERY_TASK_TIME_LIMIT.")
# Catalog scans: each task reads for at most this long, then re-enqueues itself; a scan whose last
# checkpoint is older than the stale limit (its worker died) is taken over by the next step enqueued.
CATALOG_SCAN_STEP_SECONDS = env_int("MIGRAYT_SCAN_STEP_SECONDS", 60, minimum=1)
CATALOG_SCAN_STALE_SECONDS = env_int("MIGRAYT_SCAN_STALE_SECONDS", 120, minimum=2)
if CATALOG_SCAN_STEP_SECONDS >= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ConfigurationError("MIGRAYT_SCAN_STEP_SECONDS must be shorter than CELERY_TASK_SOFT_TIME_LIMIT.")

# Runs (apps/runs): each task works for at most RUNS_SLICE_SECONDS, then re-enqueues the next step; the lease
# on a run outlives a slice, so a second delivery of the same step waits instead of writing too.
RUNS_SLICE_SECONDS = env_int("MIGRAYT_RUNS_SLICE_SECONDS", 20, minimum=1)
RUNS_LEASE_SECONDS = env_int("MIGRAYT_RUNS_LEASE_SECONDS", 90, minimum=5)
RUNS_PARALLEL_REQUESTS = env_int("MIGRAYT_RUNS_PARALLEL_REQUESTS", 4, minimum=1)
RUNS_PREVIEW_TTL_HOURS = env_int("MIGRAYT_RUNS_PREVIEW_TTL_HOURS", 24, minimum=1)
# A create whose answer never came is looked for this long after it was sent, not sooner: it may still be running.
RUNS_RECONCILE_AFTER_SECONDS = env_int("MIGRAYT_RUNS_RECONCILE_AFTER_SECONDS", 60, minimum=1)
if RUNS_SLICE_SECONDS * 2 >= RUNS_LEASE_SECONDS:
    raise ConfigurationError("MIGRAYT_RUNS_LEASE_SECONDS must be more than twice MIGRAYT_RUNS_SLICE_SECONDS.")

# deploy: Amazon SQS. The queues exist already (Terraform makes them, with a dead-letter queue), so kombu
# is given their URLs and never lists or creates queues. A message comes back to another worker when its
# visibility timeout passes without an ack: that must be longer than any task may run, or a slow task
# would run twice at once. SQS has no broadcast, so remote control and events are off.
if CELERY_BROKER_URL.startswith("sqs"):
    _sqs_region = env_str("MIGRAYT_SQS_REGION") or env_str("AWS_REGION") or env_str("AWS_DEFAULT_REGION")
    if not _sqs_region:
        raise ConfigurationError("MIGRAYT_SQS_REGION (or AWS_REGION) is required when CELERY_BROKER_URL is sqs://.")
    _sqs_queue_url = env_url("MIGRAYT_SQS_QUEUE_URL", None, ("https", "http"))
    if not _sqs_queue_url:
        raise ConfigurationError(
            "MIGRAYT_SQS_QUEUE_URL is required when CELERY_BROKER_URL is sqs:// (the URL of the queue "
            f"that Celery's queue {CELERY_TASK_DEFAULT_QUEUE!r} is bound to)."
        )
    SQS_VISIBILITY_TIMEOUT = env_int("MIGRAYT_SQS_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT + 60, minimum=1)
    if SQS_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
        raise ConfigurationError(
            f"MIGRAYT_SQS_VISIBILITY_TIMEOUT ({SQS_VISIBILITY_TIMEOUT}s) must be longer than "
            f"CELERY_TASK_TIME_LIMIT ({CELERY_TASK_TIME_LIMIT}s), or a slow task would be delivered twice."
        )
    _sqs_secure = env_bool("MIGRAYT_SQS_IS_SECURE", True)
    if PRODUCTION and (not _sqs_secure or _sqs_queue_url.startswith("http:")):
        raise ConfigurationError("MIGRAYT_SQS_IS_SECURE and MIGRAYT_SQS_QUEUE_URL must use TLS in production.")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "region": _sqs_region,
        "predefined_queues": {CELERY_TASK_DEFAULT_QUEUE: {"url": _sqs_queue_url}},
        "visibility_timeout": SQS_VISIBILITY_TIMEOUT,
        "wait_time_seconds": env_int("MIGRAYT_SQS_WAIT_SECONDS", 20, minimum=0),  # long polling
        "polling_interval": 1,
        "is_secure": _sqs_secure,
    }
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
    CELERY_WORKER_SEND_TASK_EVENTS = False
    CELERY_TASK_CREATE_MISSING_QUEUES = False

LOG_LEVEL = env_choice("MIGRAYT_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
# deploy: production writes one JSON object per line (apps/core/logging.py) for CloudWatch Logs Insights.
LOG_FORMAT = env_choice("MIGRAYT_LOG_FORMAT", "json" if PRODUCTION else "plain", ("json", "plain"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "apps.core.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"},
                # botocore logs whole request bodies at DEBUG: Secrets Manager's would hold secrets in clear.
                "botocore": {"level": "INFO"}, "boto3": {"level": "INFO"}},
}
# Celery replaces the root logger's handlers unless told not to; JSON logs keep Django's.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT == "plain"

# mappings: the outside model that may refine a draft (apps/mappings/drafting/llm.py). Off unless both the key
# and the model are set; production injects OPENAI_API_KEY from Secrets Manager under exactly that name.
MAPPING_LLM_BASE_URL = env_url("OPENAI_BASE_URL", "https://api.openai.com/v1", ("https",) if PRODUCTION else ("https", "http"))
MAPPING_LLM_API_KEY = env_str("OPENAI_API_KEY", "")
MAPPING_LLM_MODEL = env_str("MIGRAYT_LLM_MODEL", "")
MAPPING_LLM_TIMEOUT_SECONDS = env_int("MIGRAYT_LLM_TIMEOUT_SECONDS", 60, minimum=1)

# billing (apps/billing): Stripe through dj-stripe. OFF unless STRIPE_SECRET_KEY is set (runs are then free and
# a banner says so); production injects STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET under exactly those names.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", "") or ""
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", "") or ""
STRIPE_LIVE_MODE = env_bool("STRIPE_LIVE_MODE", STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_")))
if STRIPE_SECRET_KEY and not STRIPE_SECRET_KEY.startswith(("sk_test_", "sk_live_", "rk_test_", "rk_live_")):
    raise ConfigurationError("STRIPE_SECRET_KEY must be a Stripe secret or restricted key (sk_... or rk_...).")
if STRIPE_SECRET_KEY and STRIPE_LIVE_MODE != ("_live_" in STRIPE_SECRET_KEY):
    raise ConfigurationError("STRIPE_LIVE_MODE does not match STRIPE_SECRET_KEY (a test key in live mode, or the reverse).")
if STRIPE_WEBHOOK_SECRET and not STRIPE_WEBHOOK_SECRET.startswith("whsec_"):
    raise ConfigurationError("STRIPE_WEBHOOK_SECRET must be the endpoint's signing secret (whsec_...).")
if PRODUCTION and STRIPE_SECRET_KEY and not STRIPE_WEBHOOK_SECRET:
    raise ConfigurationError("STRIPE_WEBHOOK_SECRET is required in production when STRIPE_SECRET_KEY is set.")
STRIPE_API_VERSION = "2026-05-27.dahlia"
# Only for tests and the demo: a local stand-in for Stripe's API (meter events from a real worker process).
STRIPE_API_BASE = env_url("MIGRAYT_STRIPE_API_BASE", "https://api.stripe.com",
                          ("https",) if PRODUCTION else ("https", "http"))
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_WEBHOOK_VALIDATION = "verify_signature"

# The demo organisation and user that `make run` creates.
DEMO_USER_EMAIL = env_str("MIGRAYT_DEMO_EMAIL", "demo@migrayt.local")
DEMO_USER_PASSWORD = env_str("MIGRAYT_DEMO_PASSWORD", "migrayt-demo-2026")

"""Django settings, read from the environment (see README "Configuration").

With nothing set, the project runs in development on SQLite with Celery on kombu's
filesystem transport under var/, so `make run` needs no servers. DATABASE_URL and
REDIS_URL (or CELERY_BROKER_URL) switch to PostgreSQL and Redis. DJANGO_DEBUG=false is
production: secrets must come from the environment and HTTPS settings are enforced.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from alerts_saas import security
from alerts_saas.beat import beat_schedule
from alerts_saas.env import debug, development_secrets, env_bool, env_int, env_list, env_str
from alerts_saas.log_config import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

PRODUCT_NAME = "Tripwire"

DEBUG = debug()

# --- Secrets -----------------------------------------------------------------------------
# Production requires them; development generates them once under var/.
_dev_secrets = development_secrets(VAR_DIR) if DEBUG else {}


def _required_secret(name: str) -> str:
    value = env_str(name) or _dev_secrets.get(name, "")
    if not value:
        raise ImproperlyConfigured(f"{name} must be set in production (DJANGO_DEBUG=false).")
    return value


SECRET_KEY = _required_secret("SECRET_KEY")
# Comma-separated Fernet keys, newest first. Rotating: put the new key first, keep the old
# ones until `manage.py rotate_encryption_keys` has re-encrypted every row.
FIELD_ENCRYPTION_KEYS = [k for k in _required_secret("FIELD_ENCRYPTION_KEYS").split(",") if k]

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# --- Applications -------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "alerts_saas.accounts",
    "alerts_saas.health",
    "integrations.pagerduty",
    "integrations.pagerduty.incidents",
    "alerts_saas.alerts",
    "alerts_saas.notices",
    "alerts_saas.ingest",
    "alerts_saas.dashboard",
    "alerts_saas.audit",
    "ninja",  # its docs page then serves Swagger UI from our static files, not a CDN
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "alerts_saas.site_address.SiteAddress",  # other names of SITE_URL's host go there
    "alerts_saas.security.ContentSecurityPolicy",  # django-csp's, on every response
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "alerts_saas.accounts.times.TimeZoneMiddleware",  # each person's zone for the page's times
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "alerts_saas.accounts.two_factor.TwoFactorMiddleware",  # an organization that asks for it
    "django_htmx.middleware.HtmxMiddleware",
    "alerts_saas.audit.context.AuditContextMiddleware",  # who acts, for the audit log
    "alerts_saas.notices.triggers.MemberChanges",  # paging problems a member's change made
]

ROOT_URLCONF = "alerts_saas.urls"
WSGI_APPLICATION = "alerts_saas.wsgi.application"

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
                "alerts_saas.accounts.context_processors.tenant",
                "alerts_saas.notices.banner.paging_banner",
            ],
        },
    },
]

# --- Data ---------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# Django's own cursors bind parameters on the client and never prepare; the delivery engine's
# hot statements ask to be prepared (integrations/pagerduty/statements.py). Behind PgBouncer
# older than 1.21 (no prepared statements), set DATABASE_PREPARED_STATEMENTS=false.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "DATABASE_PREPARED_STATEMENTS", True
):
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
# SQLite (`make run`: web, worker and beat write one file): a transaction takes the write
# lock as it begins, waiting up to 20 s; two begun as reads that then wrote failed at once
# with "database is locked". WAL lets reads go on meanwhile.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        transaction_mode="IMMEDIATE", timeout=20, init_command="PRAGMA journal_mode=WAL"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "tripwire",
        }
    }
else:
    # Embedded default: one process per role, so a process-local cache is enough for
    # allauth's rate limits in development.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
CELERY_QUEUE_DIR = VAR_DIR / "celery"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_QUEUE_DIR / "queue"),
        "data_folder_out": str(CELERY_QUEUE_DIR / "queue"),
        "control_folder": str(CELERY_QUEUE_DIR / "control"),
        "store_processed": False,
    }
    for _folder in ("queue", "control"):
        (CELERY_QUEUE_DIR / _folder).mkdir(parents=True, exist_ok=True)
else:
    # A task not acknowledged within this time is handed to another worker (acks_late).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY", 3600)}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
HEARTBEAT_INTERVAL = env_int("HEARTBEAT_INTERVAL", 15)


# What beat runs, and how often (alerts_saas/beat.py; intervals from the environment).
CELERY_BEAT_SCHEDULE = beat_schedule(HEARTBEAT_INTERVAL)

# --- Accounts (django-allauth) ------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_ADAPTER = "alerts_saas.accounts.adapter.AccountAdapter"
ACCOUNT_FORMS = {  # the same forms, in our words
    name: f"alerts_saas.accounts.auth_forms.{form}"
    for name, form in {
        "login": "LoginForm",
        "signup": "SignupForm",
        "add_email": "AddEmailForm",
        "change_password": "ChangePasswordForm",
        "reset_password": "ResetPasswordForm",
        "reset_password_from_key": "ResetPasswordKeyForm",
    }.items()
}
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{PRODUCT_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
# Security emails: password changed or reset, two-factor turned on or off, new recovery codes.
ACCOUNT_EMAIL_NOTIFICATIONS = True
# allauth's default rate limits stay on; two-factor: an app with recovery codes.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_ADAPTER = "alerts_saas.accounts.mfa_adapter.MFAAdapter"  # secrets encrypted at rest
MFA_TOTP_ISSUER = PRODUCT_NAME
MFA_TOTP_TOLERANCE = 1  # the code before or after too: a code that turned as it was typed
_CODE_FORMS = "alerts_saas.accounts.two_factor_forms"  # codes in our words, allauth untouched
MFA_FORMS = {"authenticate": f"{_CODE_FORMS}.SignInCodeForm"}
MFA_FORMS["reauthenticate"] = f"{_CODE_FORMS}.ReauthenticateCodeForm"
INVITATION_LIFETIME = timedelta(days=env_int("INVITATION_LIFETIME_DAYS", 7))

# --- PagerDuty: hosts, OAuth client, deliveries (alerts_saas/settings_pagerduty.py) ------
from alerts_saas.settings_pagerduty import *  # noqa: E402, F403

# --- Retention ----------------------------------------------------------------------------
# Audit entries older than this many days are deleted by beat.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 365)
if AUDIT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("AUDIT_RETENTION_DAYS must be at least 1.")
# One-off mute windows ended more than this many days ago are deleted by beat.
MUTE_RETENTION_DAYS = env_int("MUTE_RETENTION_DAYS", 90)
if MUTE_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("MUTE_RETENTION_DAYS must be at least 1.")

# --- Events and alerts --------------------------------------------------------------------
# Where people reach this product: links in PagerDuty incidents point here.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Other names of SITE_URL's host (development: the allowed hosts but its own, so localhost):
# a page opened there redirects to SITE_URL, where the session and the OAuth callback are.
SITE_ALIASES = env_list(
    "SITE_ALIASES",
    [h for h in ALLOWED_HOSTS if h != urlsplit(SITE_URL).hostname] if DEBUG else [],
)
# POST /api/v1/events: a request body, a batch and a message are cut off at these sizes.
INGEST_MAX_BODY_BYTES = env_int("INGEST_MAX_BODY_BYTES", 5 * 1024 * 1024)
INGEST_MAX_BATCH = env_int("INGEST_MAX_BATCH", 1000)
INGEST_MAX_MESSAGE_CHARS = env_int("INGEST_MAX_MESSAGE_CHARS", 8192)
# Events stamped further ahead than this, or older than this, are refused (per event).
INGEST_MAX_FUTURE = timedelta(seconds=env_int("INGEST_MAX_FUTURE_SECONDS", 300))
INGEST_MAX_AGE = timedelta(seconds=env_int("INGEST_MAX_AGE_SECONDS", 24 * 3600))
# Events each organization may send per minute (sliding window) before getting 429.
INGEST_EVENTS_PER_MINUTE = env_int("INGEST_EVENTS_PER_MINUTE", 600_000)
# Changes each organization may send per minute before 429: PagerDuty's rate on a key.
INGEST_CHANGES_PER_MINUTE = env_int("INGEST_CHANGES_PER_MINUTE", PAGERDUTY_EVENTS_PER_MINUTE)  # noqa: F405
# Requests each management API token may make per minute (sliding window) before 429.
API_REQUESTS_PER_MINUTE = env_int("API_REQUESTS_PER_MINUTE", 600)
# Ingestion learns that an organization's alerts changed from a token in Redis, on every
# batch; it also compares the database this often (seconds), in case a token was lost.
ALERTS_RECHECK_SECONDS = env_int("ALERTS_RECHECK_SECONDS", 30)
# An alert that groups (one firing per host, region...): how many values it counts at most,
# and after how many of its windows without an event a value is forgotten.
ALERT_GROUP_LIMIT = env_int("ALERT_GROUP_LIMIT", 1000)
ALERT_GROUP_FORGET_WINDOWS = env_int("ALERT_GROUP_FORGET_WINDOWS", 12)

# --- Email --------------------------------------------------------------------------------
# Owners and admins are emailed when paging breaks, then reminded this often while it lasts.
PROBLEM_REMINDER_HOURS = env_int("PROBLEM_REMINDER_HOURS", 24)
if PROBLEM_REMINDER_HOURS < 1:
    raise ImproperlyConfigured("PROBLEM_REMINDER_HOURS must be at least 1.")
# The first email about a problem waits this long (seconds) for whatever else breaks or mends
# at the same time, so that an outage is one email and a blip that mends itself at once is
# one "fixed now" or none. A queued run sends it then; if that run is lost, beat's next check.
PROBLEM_EMAIL_HOLD_SECONDS = env_int("PROBLEM_EMAIL_HOLD_SECONDS", 60)
if not 0 <= PROBLEM_EMAIL_HOLD_SECONDS <= 120:
    raise ImproperlyConfigured("PROBLEM_EMAIL_HOLD_SECONDS must be between 0 and 120.")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Tripwire <noreply@tripwire.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Internationalisation, static ---------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Security -----------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = security.CONTENT_SECURITY_POLICY
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    if env_bool("SECURE_PROXY_SSL_HEADER", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
        # allauth's per-address limits count the client the proxy added, not the proxy.
        ALLAUTH_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Logging ------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# Plain lines on the console; secrets in links never reach one (alerts_saas/log_config.py).
LOGGING = logging_config(LOG_LEVEL)

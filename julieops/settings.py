"""JulieOps settings: one file, every value from the environment.

Unset variables give the embedded default (SQLite under var/, a filesystem Celery broker),
so `make run` needs no external server. With DEBUG off, missing secrets stop start-up.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("JULIEOPS_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")
# The embedded default, as a fresh clone runs it: no database named and DEBUG not chosen.
# Its local and read-only commands (`manage.py steps`, `mirror`, `demo`...) then use the
# secrets generated under var/, as DEBUG does; a production shape (DATABASE_URL set, or
# DEBUG=0 said explicitly) still refuses to start without its own secrets.
EMBEDDED = not os.environ.get("DATABASE_URL") and not os.environ.get("DEBUG")


def _dev_secret(name: str) -> str:
    """Secrets for DEBUG only: generated once and kept under var/ so restarts keep them."""
    import json

    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "dev-secrets.json"
    values = json.loads(path.read_text()) if path.exists() else {}
    if name not in values:  # generated once: cryptography loads only then (start-up time)
        import secrets

        from cryptography.fernet import Fernet

        values.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
        values.setdefault("JULIEOPS_FERNET_KEYS", Fernet.generate_key().decode())
        path.write_text(json.dumps(values))
        path.chmod(0o600)
    return values[name]


def required_secret(name: str) -> str:
    value = os.environ.get(name, "")
    if value:
        return value
    if DEBUG or EMBEDDED:
        return _dev_secret(name)
    raise ImproperlyConfigured(
        f"{name} n'est pas défini : JulieOps refuse de démarrer sans lui en production "
        f"(DATABASE_URL donné ou DEBUG=0) ; voir README.md, « Configuration »."
    )


SECRET_KEY = required_secret("SECRET_KEY")
# Comma-separated Fernet keys, newest first: the first encrypts, all decrypt (rotation).
FERNET_KEYS = env_list("JULIEOPS_FERNET_KEYS") or [required_secret("JULIEOPS_FERNET_KEYS")]

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "julieops.apps.AdminConfig",  # the admin, its modules discovered with the URLconf
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "migrations_app",
    "readers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "julieops.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "julieops.middleware.FrenchFirstLocaleMiddleware",
    "julieops.middleware.RefuseNulMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "julieops.urls"
WSGI_APPLICATION = "julieops.wsgi.application"

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
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'julieops.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
# Parallel test runs (CI, several work trees) each get their own test database.
DATABASES["default"]["TEST"] = {
    "NAME": "test_julieops_" + os.environ.get("JULIEOPS_TEST_DB", "main")
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets the worker write log lines while the web server reads them.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": os.environ.get("MEDIA_ROOT", str(VAR_DIR / "media"))},
    },
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Evidence files (manifests, logs, copies of server.register); never rewritten.
EVIDENCE_ROOT = Path(os.environ.get("JULIEOPS_EVIDENCE_ROOT", VAR_DIR / "evidence"))

# Security: a session lasts a working day (10 hours from log-in), cookies are HTTP-only,
# HTTPS when deployed.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(10 * 3600)))
# Sessions read from the shared cache (Redis in production), written through to the
# database: every page and every log poll no longer costs a session query.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# HSTS only once the site is served over HTTPS for good: set it in seconds (e.g. 31536000).
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY") else None

# Mail (notifications); console backend by default.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "julieops@localhost")
# Notifications (step failed, approval awaited, job finished): e-mail to the job's assignee
# and these addresses; optional webhook receiving signed JSON (HMAC-SHA256 with the secret).
JULIEOPS_NOTIFY_EMAILS = env_list("JULIEOPS_NOTIFY_EMAILS")
JULIEOPS_WEBHOOK_URL = os.environ.get("JULIEOPS_WEBHOOK_URL", "")
JULIEOPS_WEBHOOK_SECRET = os.environ.get("JULIEOPS_WEBHOOK_SECRET", "")
JULIEOPS_WEBHOOK_TIMEOUT = float(os.environ.get("JULIEOPS_WEBHOOK_TIMEOUT", "3"))
# Public address of the dashboard, for links in notifications (e.g. https://julieops.example).
JULIEOPS_BASE_URL = os.environ.get("JULIEOPS_BASE_URL", "")

# Celery. The embedded default is a filesystem broker under var/broker/: no server needed.
# kombu's own filesystem transport can hand the worker a half-written message and die of it
# (kombu #1551); julieops.embedded_broker writes atomically and sets undecodable files aside.
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT = "julieops.embedded_broker:Transport"
    _broker_folders = {
        name: BROKER_DIR / name for name in ("queue", "processed", "broken", "control")
    }
    for _folder in _broker_folders.values():
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Producer and consumer share one folder; a reader claims a message by moving it to
        # processed/ (same filesystem, so one reader wins), which is emptied as it reads.
        "data_folder_in": str(_broker_folders["queue"]),
        "data_folder_out": str(_broker_folders["queue"]),
        "processed_folder": str(_broker_folders["processed"]),
        "store_processed": False,
        "broken_folder": str(_broker_folders["broken"]),
        # Exchange tables: kombu's default is ./control, in the checkout.
        "control_folder": str(_broker_folders["control"]),
        "polling_interval": 0.1,
    }
else:
    # Long copies outlive this; the run's claim and heartbeat prevent double execution.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A Redis restart must not stop a running copy: the run is claimed and heartbeats in the
# database, so it finishes; explicit because Celery means to change this default.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# The reaper has its own queue, consumed by a worker of its own (docker-compose's `reaper`,
# run-embedded.sh's second worker): a long copy holding every slot of `default` never delays
# it. A pass not taken before the next one is due expires instead of piling up.
JULIEOPS_REAPER_QUEUE = os.environ.get("JULIEOPS_REAPER_QUEUE", "reaper")
JULIEOPS_REAPER_INTERVAL = float(os.environ.get("JULIEOPS_REAPER_INTERVAL", "15"))
CELERY_TASK_ROUTES = {"migrations_app.tasks.reap_runs": {"queue": JULIEOPS_REAPER_QUEUE}}
CELERY_BEAT_SCHEDULE = {
    "reap-runs": {
        "task": "migrations_app.tasks.reap_runs",
        "schedule": JULIEOPS_REAPER_INTERVAL,
        "options": {"queue": JULIEOPS_REAPER_QUEUE, "expires": JULIEOPS_REAPER_INTERVAL},
    },
}

# Execution tuning (seconds).
JULIEOPS_HEARTBEAT_INTERVAL = float(os.environ.get("JULIEOPS_HEARTBEAT_INTERVAL", "5"))
JULIEOPS_HEARTBEAT_TIMEOUT = float(os.environ.get("JULIEOPS_HEARTBEAT_TIMEOUT", "45"))
JULIEOPS_QUEUED_RESEND_AFTER = float(os.environ.get("JULIEOPS_QUEUED_RESEND_AFTER", "120"))
# The pages warn: a run queued this long while no live worker serves its queue; a running
# run whose progress and log have not moved this long (heartbeat alive: stalled); a reaper
# whose last pass is this old (no beat, or no worker on its queue).
JULIEOPS_QUEUED_WARN_AFTER = float(os.environ.get("JULIEOPS_QUEUED_WARN_AFTER", "60"))
JULIEOPS_STALLED_AFTER = float(os.environ.get("JULIEOPS_STALLED_AFTER", "600"))
JULIEOPS_REAPER_MISSING_AFTER = float(
    os.environ.get("JULIEOPS_REAPER_MISSING_AFTER", str(max(60.0, 4 * JULIEOPS_REAPER_INTERVAL)))
)
JULIEOPS_LOG_FLUSH_SECONDS = float(os.environ.get("JULIEOPS_LOG_FLUSH_SECONDS", "0.25"))
JULIEOPS_LOG_FLUSH_LINES = int(os.environ.get("JULIEOPS_LOG_FLUSH_LINES", "500"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
JULIEOPS_EXTRA_STEP_MODULES = env_list("JULIEOPS_EXTRA_STEP_MODULES")

# WinRM: HTTPS (5986) with the certificate pinned per machine; NTLM by default.
JULIEOPS_WINRM_OPTIONS = {
    "scheme": os.environ.get("JULIEOPS_WINRM_SCHEME", "https"),
    "auth": os.environ.get("JULIEOPS_WINRM_AUTH", "ntlm"),
}
# Seconds between two reads of a remote robocopy.exe log.
JULIEOPS_ROBOCOPY_POLL_SECONDS = float(os.environ.get("JULIEOPS_ROBOCOPY_POLL_SECONDS", "5"))

# Cache (login rate limits), shared by every web process: Redis when the broker is Redis,
# else the database cache (its table is made by `migrate`, see migrations_app.apps).
CACHE_URL = os.environ.get("CACHE_URL") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else ""
)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    if CACHE_URL
    else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "julieops_cache"}
}
CACHES["default"]["KEY_PREFIX"] = os.environ.get("CACHE_KEY_PREFIX", "julieops")
# Failed logins allowed per username and per address within the window, then 429.
JULIEOPS_LOGIN_MAX_FAILURES = int(os.environ.get("JULIEOPS_LOGIN_MAX_FAILURES", "5"))
JULIEOPS_LOGIN_WINDOW_SECONDS = int(os.environ.get("JULIEOPS_LOGIN_WINDOW_SECONDS", "900"))
# Reverse proxies in front of the web processes (X-Forwarded-For is read only when > 0).
JULIEOPS_TRUSTED_PROXIES = int(os.environ.get("JULIEOPS_TRUSTED_PROXIES", "0"))
# Folders a `local` machine's root may sit under (a local machine must not name any other
# folder of the worker, which may be the practice's own server). Separated by commas.
JULIEOPS_LOCAL_ROOTS = env_list("JULIEOPS_LOCAL_ROOTS", str(VAR_DIR / "demo"))
# Folders the training practice's simulated posts keep their drives in (`python -m training`).
JULIEOPS_TRAINING_ROOTS = env_list("JULIEOPS_TRAINING_ROOTS", str(VAR_DIR / "training"))
# A card-reader report generated further than this from its arrival is refused (seconds).
JULIEOPS_REPORT_MAX_SKEW_SECONDS = int(os.environ.get("JULIEOPS_REPORT_MAX_SKEW_SECONDS", "3600"))

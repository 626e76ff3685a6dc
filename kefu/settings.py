"""One settings module, driven by environment variables.

Defaults give the embedded set-up (SQLite, no other server). Set DATABASE_URL to use PostgreSQL.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


DEBUG = env_bool("KEFU_DEBUG", False)
SECRET_KEY = env_str("KEFU_SECRET_KEY", "kefu-insecure-development-key-change-me-in-production")
if not DEBUG and SECRET_KEY.startswith("kefu-insecure") and env_bool("KEFU_REQUIRE_SECRET", False):
    raise ImproperlyConfigured("KEFU_SECRET_KEY must be set in production")
ALLOWED_HOSTS = [h.strip() for h in env_str("KEFU_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in env_str("KEFU_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

VAR_DIR = Path(env_str("KEFU_VAR_DIR", str(PROJECT_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "kefu.core",
    "kefu.org",
    "kefu.customers",
    "kefu.grid",
    "kefu.metering",
    "kefu.workorders",
    "kefu.knowledge",
    "kefu.outages",
    "kefu.desk",
    "kefu.shell",
    "kefu.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "kefu.core.middleware.ApplicationErrorMiddleware",
]

ROOT_URLCONF = "kefu.urls"
WSGI_APPLICATION = "kefu.wsgi.application"
ASGI_APPLICATION = "kefu.asgi.application"

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
                "kefu.shell.context_processors.shell",
            ],
        },
    },
]

# Database: SQLite by default (WAL + busy timeout set on connect), PostgreSQL via DATABASE_URL.
_default_sqlite = f"sqlite:///{VAR_DIR / 'kefu.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", _default_sqlite), conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-64000;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "org.Staff"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Lock-out: this many failed logins in a row lock the account for this many minutes.
KEFU_LOGIN_MAX_FAILURES = env_int("KEFU_LOGIN_MAX_FAILURES", 5)
KEFU_LOGIN_LOCK_MINUTES = env_int("KEFU_LOGIN_LOCK_MINUTES", 15)
SESSION_COOKIE_AGE = env_int("KEFU_SESSION_SECONDS", 12 * 3600)

# Notifications (core/notify.py). "file" writes each message as a line of JSON to the outbox log;
# "http" posts SMS to a gateway. E-mail goes through Django's EMAIL_BACKEND (a file folder by default).
KEFU_SMS_BACKEND = env_str("KEFU_SMS_BACKEND", "file")
KEFU_SMS_URL = env_str("KEFU_SMS_URL", "")
KEFU_SMS_TOKEN = env_str("KEFU_SMS_TOKEN", "")
KEFU_OUTBOX_MAX_ATTEMPTS = env_int("KEFU_OUTBOX_MAX_ATTEMPTS", 8)
# The number customers are told to call in outage messages.
KEFU_HOTLINE = env_str("KEFU_HOTLINE", "95598")
EMAIL_BACKEND = env_str("KEFU_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("KEFU_FROM_EMAIL", "kefu@localhost")
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
KEFU_OUTBOX_LOG = str(VAR_DIR / "outbox.log")

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [PROJECT_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing root
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "kefu.org.api.auth.StaffTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "kefu.core.api.KeysetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "kefu.core.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "kefu API",
    "DESCRIPTION": "Customer-service platform for power and gas utilities. 客服平台接口。",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI / Redoc assets come from the installed sidecar package: intranets have no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("KEFU_LOG_LEVEL", "WARNING")},
}

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

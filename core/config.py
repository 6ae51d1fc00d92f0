"""Configuration: defaults for the embedded SQLite store, overridable from the environment."""
from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Mapping, MutableMapping
from datetime import timedelta
from pathlib import Path
from typing import Any


def normalise_database_url(url: str) -> str:
    """Return the SQLAlchemy URL, choosing psycopg 3 for plain postgresql:// URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def apply_environment(config: MutableMapping[str, Any], keys: Iterable[str],
                      environ: Mapping[str, str] = os.environ) -> None:
    """Override config keys from environment variables of the same name (JSON values, else strings)."""
    for key in keys:
        if key in environ:
            raw = environ[key]
            try:
                config[key] = json.loads(raw)
            except ValueError:
                config[key] = raw


# Config keys of the server-side sessions a deployment may set from the environment (core.auth).
SESSION_ENVIRONMENT_KEYS = ("SESSION_IDLE_TIMEOUT_MINUTES", "SESSION_ABSOLUTE_LIFETIME_HOURS")
# Config keys of outgoing mail (core.mail, core.mail_outbox) a deployment may set from the environment.
MAIL_ENVIRONMENT_KEYS = (
    "MAIL_SERVER", "MAIL_PORT", "MAIL_FROM", "MAIL_TIMEOUT", "MAIL_USE_STARTTLS", "MAIL_USERNAME", "MAIL_PASSWORD",
    "MAIL_MAX_ATTEMPTS",
)


def _instance_secret_key(instance_path: Path) -> str:
    """Return the instance's secret key, creating it once so sessions survive restarts."""
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


class Config:
    SYSTEM_NAME = "Förskrivningsportalen"
    VERSION = "0.1.0"

    SQLALCHEMY_DATABASE_URI: str | None = None  # filled by for_environment()
    SQLALCHEMY_ENGINE_OPTIONS: dict | None = None  # None: engine_options() for the store's URL
    SQLITE_BUSY_TIMEOUT_MS = 5000
    # WAL pages (4 KiB) after which a committing request checkpoints by itself; the monitor's
    # core.wal_checkpoint job does it every second, so this is the fallback while no monitor runs.
    SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10_000

    # Bodies over 1 MB are refused with 413 before any view runs.
    MAX_CONTENT_LENGTH = 1024 * 1024

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False  # the embedded default serves plain HTTP on loopback
    SESSION_COOKIE_NAME = "fp_session"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=10)
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = None  # tied to the session lifetime instead

    PASSWORD_HASH_METHOD = "scrypt"
    LOGIN_MAX_FAILURES = 5
    LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
    API_TOKEN_LIFETIME = timedelta(hours=12)
    # Off: no password form, and API tokens by password only for service accounts (users.service_account).
    PASSWORD_LOGIN_ENABLED = True
    # SITHS through the region's OpenID Connect provider (core/auth/oidc.py); no issuer: no SITHS button.
    OIDC_ISSUER: str | None = None
    OIDC_CLIENT_ID: str | None = None
    OIDC_CLIENT_SECRET: str | None = None
    OIDC_SCOPES = "openid"  # Inera's IdP: "openid personal_identity_number commission"
    OIDC_HSA_ID_CLAIM = "employeeHsaId"  # the claim that names the local user (users.hsa_id)
    OIDC_TIMEOUT = 10.0
    # Sessions live in the store (core/auth/session_interface.py): a session ends after this
    # long without a request, and this long after login whatever happens. Also from the environment.
    SESSION_IDLE_TIMEOUT_MINUTES = 30
    SESSION_ABSOLUTE_LIFETIME_HOURS = 10

    CUSTOMER_SERVICE_PHONE = "010-473 80 80"
    CUSTOMER_SERVICE_HOURS = "Måndag–fredag 08.00–16.30"

    # Status monitor (`flask monitor`; any of these may also come from an environment variable
    # of the same name, JSON-parsed, see status/settings.py).
    MAIN_SERVER_URL = "http://127.0.0.1:5001"
    MAIN_SERVER_HEALTH_PATH = "/health"
    # Something in the regional IT environment that is up whenever the region's network is:
    # main server AND this down = a full regional IT outage. The demo uses the web app itself.
    REFERENCE_TARGET_URL = "http://127.0.0.1:5000/health"
    # Detection bound (status.settings.MonitorSettings.detection_bound_seconds): a hard failure of the
    # main server (refused, timeout, 5xx) shows on the status page within
    #   interval + tick + (failures - 1) × (max(retry, probe) + tick) + probe + 2 × page cache
    # where probe = connect + read timeout, the longest one probe can take. With these defaults
    # 10 + 1 + 2 × (4 + 1) + 4 + 2 × 2 = 29 s at worst (28 s hung, 25 s refused or 5xx). One lost
    # probe or one answer slower than the read timeout is one failure: it never opens an incident
    # (failures in a row confirm down); a slow answer inside the read timeout is a good probe.
    STATUS_PROBE_INTERVAL_SECONDS = 10
    STATUS_RETRY_INTERVAL_SECONDS = 4  # while any probed component is not up
    STATUS_FAILURES_TO_DOWN = 3
    STATUS_SUCCESSES_TO_UP = 2
    STATUS_PROBE_CONNECT_TIMEOUT = 1.0
    STATUS_PROBE_READ_TIMEOUT = 3.0
    STATUS_HEARTBEAT_TIMEOUT_SECONDS = 180  # customer service's workstations: none for 3 min = lost
    # Heartbeats are only expected while customer service is open (Swedish time).
    STATUS_CUSTOMER_SERVICE_OPEN = {"weekdays": [0, 1, 2, 3, 4], "start": "08:00", "end": "16:30"}
    STATUS_TICK_SECONDS = 1  # how often the monitor looks for due probes (and the sync jobs run)
    STATUS_RESERVE_CHECK_SECONDS = 60
    STATUS_NOTIFY_SECONDS = 10
    # The single-monitor lock: SQLite's lease row lasts this long, renewed (and tried by a standby)
    # every third of it; PostgreSQL's advisory lock is tried as often. Failover bound after the active
    # monitor dies (MonitorSettings.failover_bound_seconds): lease + lease / 3 + tick = 9 + 3 + 1 = 13 s
    # on SQLite, lease / 3 + tick = 4 s on PostgreSQL (the lock goes with the dead session's socket).
    STATUS_LEASE_SECONDS = 9
    STATUS_MONITOR_LOCK_KEY = 0x46505354  # pg advisory lock key ("FPST")
    # Role → address or list of addresses; roles: system_owner, system_owner_manager,
    # servicedesk, supplier, it_driftinfo, telephony_owner, customer_service.
    STATUS_ESCALATION_RECIPIENTS: dict = {}
    STATUS_SERVICEDESK_WEBHOOK_URL: str | None = None  # set: Servicedesk incident by webhook, not mail
    STATUS_ON_DUTY = {"weekdays": [0, 1, 2, 3, 4], "start": "08:00", "end": "17:00"}  # the SA, Swedish time
    STATUS_REMINDER_MINUTES = 0  # 0: no escalation reminders
    STATUS_PUBLIC_BASE_URL = "http://127.0.0.1:5000"  # links in mails sent by the monitor
    STATUS_PAGE_CACHE_SECONDS = 2.0  # per-process cache of the public status
    # Reserve routine (reserve/): runbooks, reserve numbers, the printable kit, drills.
    RESERVE_RUNBOOK_DIR: str | None = None  # None: runbooks/ at the project root
    RESERVE_NUMBER_FIRST = 10_000_001  # reserve numbers print as R + 8 digits
    RESERVE_NUMBER_BLOCK = 200  # numbers reserved at a time
    RESERVE_NUMBER_LOW_WATER = 50  # reserve another block below this many free numbers
    RESERVE_KIT_FORMS = 5  # blank forms of each kind in the printable kit
    RESERVE_KIT_INTERVAL_SECONDS = 3600  # the kit is regenerated this often while the main server is up
    RESERVE_KIT_KEEP = 3  # kit generations kept
    RESERVE_CHECKLIST_SECONDS = 15  # how often the monitor ticks checklists
    RESERVE_DRILL_DIR: str | None = None  # sandbox stores of drills; None: <instance>/drills
    MAIL_SERVER = "localhost"
    MAIL_PORT = 25
    MAIL_FROM = "driftinfo@forskrivningsportalen.invalid"
    MAIL_TIMEOUT = 10.0
    MAIL_USE_STARTTLS = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_MAX_ATTEMPTS = 8  # a mail still not accepted by SMTP after this many tries is marked failed

    # Sync: the outbox sender and the changes feed (run in `flask monitor`; `flask sync run` drains by hand).
    # Any of these may also come from an environment variable of the same name, see sync/settings.py.
    SYNC_SITE_ID = "forskrivningsportalen"  # who we are to the main server; keys are unique per site
    SYNC_MAIN_SERVER_TOKEN: str | None = None  # sent as a bearer token when set
    SYNC_BATCH_SIZE = 50
    SYNC_LEASE_SECONDS = 30.0  # an item claimed by a sender that died is free again after this
    SYNC_CONNECT_TIMEOUT = 3.0
    SYNC_READ_TIMEOUT = 15.0
    SYNC_BACKOFF_BASE_SECONDS = 1.0  # full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]
    SYNC_BACKOFF_CAP_SECONDS = 300.0
    SYNC_IN_PROGRESS_RETRY_SECONDS = 2.0
    SYNC_BREAKER_FAILURES = 3  # failed calls in a row that open the circuit breaker
    # Open this long, then a trial (the health page, then one item); doubles after the quick trials, up
    # to the cap. A failed trial costs one GET, so both stay short: a link that drops for a fraction of a
    # second is back in use a tenth of a second later (with a first cooldown of 1 s, the flapping link of
    # bench/sync_throughput.py cost 17.8 × the clean time; with 0.1 s, 1.8 ×), and sending resumes within
    # cap + STATUS_TICK_SECONDS (2 + 1 = 3 s) of the main server answering again after a long outage.
    SYNC_BREAKER_COOLDOWN_SECONDS = 0.1
    SYNC_BREAKER_COOLDOWN_CAP_SECONDS = 2.0
    # The first 10 failed trials keep the 0.1 s cooldown (a second of health-page GETs), then it doubles:
    # a link down for 0.05-0.3 s is back in use within 0.1 s of returning, not up to 0.4 s later.
    SYNC_BREAKER_QUICK_TRIALS = 10
    SYNC_RUN_BUDGET_SECONDS = 5.0  # one scheduled run sends for at most this long, then yields
    SYNC_VERIFY_ACKED_DAYS = 14.0  # after a recovery, ask /have about items registered this recently
    SYNC_VERIFY_INTERVAL_SECONDS = 3600.0
    SYNC_PULL_SECONDS = 60.0
    SYNC_PULL_PAGE_SIZE = 500
    SYNC_RATE_WINDOW_SECONDS = 60.0  # the registration rate on the status page is over this window
    # Kinds captured by hand in reserve mode that wait for approval, and who may approve them.
    # Seed 004: orders are back-registered by Hjälpmedelsservice; work orders by the responsible
    # prescriber, or at Hjälpmedelsservice by the operations manager or the responsible technician.
    SYNC_REVIEW: dict = {
        "order": ["hms_staff"], "stock_move": ["hms_staff"], "outbound_delivery": ["hms_staff"],
        "prescription": ["hms_staff"], "withdrawal": ["hms_staff"],
        "work_order": ["hms_staff", "technician", "prescriber"],
    }
    SYNC_KILL_POINT: str | None = None  # failpoint for the kill-point tests, see sync/faults.py

    # Messages on My page and access applications (app/messages, app/access).
    # Links in mails are built on this base, never on the request's Host header.
    APP_BASE_URL = os.environ.get("APP_BASE_URL", "http://127.0.0.1:5000")
    MESSAGE_ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024  # per file
    MESSAGE_ATTACHMENTS_MAX_COUNT = 3
    ACCESS_SET_PASSWORD_TOKEN_LIFETIME = timedelta(days=7)  # the link sent with a new account
    ACCESS_RESET_TOKEN_LIFETIME = timedelta(hours=1)  # "Glömt ditt lösenord?"
    ACCESS_COMPLETION_TOKEN_LIFETIME = timedelta(days=30)  # the manager's link to complete a returned application
    ACCESS_RESETS_PER_HOUR = 3  # reset mails per account and hour; more requests are answered alike but send nothing
    # The forgotten-password answer never comes sooner, so its timing does not tell whether the account exists.
    ACCESS_RESET_MIN_RESPONSE_SECONDS = 0.8
    # The public forms that send e-mail (access application and change, forgotten password, status
    # subscription), per form: attempts per client address, and per target e-mail address or username,
    # within the window; more are answered 429 and send nothing. Counted in the store, so shared by
    # every worker and web node.
    PUBLIC_FORM_MAX_PER_ADDRESS = int(os.environ.get("PUBLIC_FORM_MAX_PER_ADDRESS", "20"))
    PUBLIC_FORM_MAX_PER_TARGET = int(os.environ.get("PUBLIC_FORM_MAX_PER_TARGET", "5"))
    PUBLIC_FORM_WINDOW_SECONDS = float(os.environ.get("PUBLIC_FORM_WINDOW_SECONDS", "3600"))


class TestConfig(Config):
    TESTING = True
    POPULATION_REGISTER = "file"
    POPULATION_REGISTER_FILE = "/nonexistent/population_register.json"  # tests install their own register
    # A cheap hasher keeps the suite fast; production uses scrypt.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    SECRET_KEY = "test-secret-key"


def engine_options(url: str) -> dict:
    """Return the engine options for the store at `url`.

    A pooled PostgreSQL connection is tested (SELECT 1) as it is taken, so after PostgreSQL restarts or
    fails over to its standby the next request gets a new connection instead of an error. A SQLite file
    has no server to lose: there the test would only cost a statement per checkout (two per search).
    """
    return {} if url.startswith("sqlite") else {"pool_pre_ping": True}


def for_environment(instance_path: str, testing: bool = False) -> type[Config]:
    """Return a config class with the store URL and secret key resolved from the environment."""
    base = TestConfig if testing else Config
    path = Path(instance_path)
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{path / 'forskrivning.sqlite3'}"

    class Resolved(base):  # type: ignore[valid-type, misc]
        SQLALCHEMY_DATABASE_URI = normalise_database_url(url)
        SECRET_KEY = os.environ.get("SECRET_KEY") or getattr(base, "SECRET_KEY", None) or _instance_secret_key(path)
        SYSTEM_NAME = os.environ.get("SYSTEM_NAME", base.SYSTEM_NAME)
        SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "") == "1"

    return Resolved


def migrations_directory() -> str:
    """Return the Alembic migrations folder at the repository's root."""
    return str(Path(__file__).resolve().parent.parent / "migrations")

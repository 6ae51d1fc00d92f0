"""The sync engine's settings, read from the app config (defaults in app/config.py, "# Sync")."""
from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from core.config import apply_environment as config_environment
from sync.rules import KINDS, Backoff, BreakerPolicy

# Config keys a deployment (or `make run`, or a test's subprocess) may set from the environment.
ENVIRONMENT_KEYS = (
    "SYNC_SITE_ID", "SYNC_MAIN_SERVER_TOKEN", "SYNC_BATCH_SIZE", "SYNC_LEASE_SECONDS", "SYNC_CONNECT_TIMEOUT",
    "SYNC_READ_TIMEOUT", "SYNC_BACKOFF_BASE_SECONDS", "SYNC_BACKOFF_CAP_SECONDS", "SYNC_IN_PROGRESS_RETRY_SECONDS",
    "SYNC_BREAKER_FAILURES", "SYNC_BREAKER_COOLDOWN_SECONDS", "SYNC_BREAKER_COOLDOWN_CAP_SECONDS",
    "SYNC_BREAKER_QUICK_TRIALS", "SYNC_RUN_BUDGET_SECONDS", "SYNC_VERIFY_ACKED_DAYS", "SYNC_VERIFY_INTERVAL_SECONDS", "SYNC_PULL_SECONDS",
    "SYNC_PULL_PAGE_SIZE", "SYNC_REVIEW", "SYNC_RATE_WINDOW_SECONDS", "SYNC_KILL_POINT",
)


def apply_environment(config: MutableMapping[str, Any], environ: Mapping[str, str] = os.environ) -> None:
    """Override SYNC_* config from environment variables of the same name (JSON values, else strings)."""
    config_environment(config, ENVIRONMENT_KEYS, environ)


@dataclass(frozen=True)
class SyncSettings:
    main_server_url: str
    site_id: str
    token: str | None
    batch_size: int
    lease_seconds: float
    connect_timeout: float
    read_timeout: float
    backoff: Backoff
    breaker: BreakerPolicy
    run_budget_seconds: float
    verify_acked_days: float
    verify_interval_seconds: float
    pull_seconds: float
    pull_page_size: int
    rate_window_seconds: float
    # kind → roles that may approve it; a kind not listed is sent without review.
    review: dict[str, tuple[str, ...]] = field(default_factory=dict)
    health_path: str = "/health"  # the breaker's half-open trial asks this first (MAIN_SERVER_HEALTH_PATH)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SyncSettings:
        review = config.get("SYNC_REVIEW") or {}
        unknown = set(review) - set(KINDS)
        if unknown:
            raise ValueError(f"SYNC_REVIEW: unknown kinds {sorted(unknown)}")
        batch = int(config["SYNC_BATCH_SIZE"])
        if not 1 <= batch <= 500:
            raise ValueError("SYNC_BATCH_SIZE must be between 1 and 500")
        return cls(
            main_server_url=str(config["MAIN_SERVER_URL"]).rstrip("/"),
            site_id=str(config["SYNC_SITE_ID"]),
            token=config.get("SYNC_MAIN_SERVER_TOKEN") or None,
            batch_size=batch,
            lease_seconds=float(config["SYNC_LEASE_SECONDS"]),
            connect_timeout=float(config["SYNC_CONNECT_TIMEOUT"]),
            read_timeout=float(config["SYNC_READ_TIMEOUT"]),
            backoff=Backoff(float(config["SYNC_BACKOFF_BASE_SECONDS"]), float(config["SYNC_BACKOFF_CAP_SECONDS"]),
                            float(config["SYNC_IN_PROGRESS_RETRY_SECONDS"])),
            breaker=BreakerPolicy(int(config["SYNC_BREAKER_FAILURES"]), float(config["SYNC_BREAKER_COOLDOWN_SECONDS"]),
                                  float(config["SYNC_BREAKER_COOLDOWN_CAP_SECONDS"]),
                                  int(config["SYNC_BREAKER_QUICK_TRIALS"])),
            run_budget_seconds=float(config["SYNC_RUN_BUDGET_SECONDS"]),
            verify_acked_days=float(config["SYNC_VERIFY_ACKED_DAYS"]),
            verify_interval_seconds=float(config["SYNC_VERIFY_INTERVAL_SECONDS"]),
            pull_seconds=float(config["SYNC_PULL_SECONDS"]),
            pull_page_size=int(config["SYNC_PULL_PAGE_SIZE"]),
            rate_window_seconds=float(config["SYNC_RATE_WINDOW_SECONDS"]),
            review={kind: tuple(roles) for kind, roles in review.items()},
            health_path=str(config.get("MAIN_SERVER_HEALTH_PATH") or "/health"),
        )


def current_settings() -> SyncSettings:
    """Return the sync settings of the current app."""
    return SyncSettings.from_config(current_app.config)

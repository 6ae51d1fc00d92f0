"""The monitor's settings, read from the app config (defaults in app/config.py, "# Status monitor")."""
from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any

from flask import current_app

from core.config import apply_environment as config_environment
from status.machine import Thresholds
from status.rules import ESCALATION_ROLES, SERVICEDESK, WeeklyHours

# Config keys a deployment (or `make run`) may set from the environment.
ENVIRONMENT_KEYS = (
    "MAIN_SERVER_URL", "MAIN_SERVER_HEALTH_PATH", "REFERENCE_TARGET_URL",
    "STATUS_PROBE_INTERVAL_SECONDS", "STATUS_RETRY_INTERVAL_SECONDS", "STATUS_FAILURES_TO_DOWN",
    "STATUS_SUCCESSES_TO_UP", "STATUS_PROBE_CONNECT_TIMEOUT", "STATUS_PROBE_READ_TIMEOUT",
    "STATUS_HEARTBEAT_TIMEOUT_SECONDS", "STATUS_TICK_SECONDS", "STATUS_RESERVE_CHECK_SECONDS",
    "STATUS_NOTIFY_SECONDS", "STATUS_LEASE_SECONDS", "STATUS_MONITOR_LOCK_KEY",
    "STATUS_ESCALATION_RECIPIENTS", "STATUS_SERVICEDESK_WEBHOOK_URL", "STATUS_ON_DUTY",
    "STATUS_REMINDER_MINUTES", "STATUS_PUBLIC_BASE_URL", "STATUS_CUSTOMER_SERVICE_OPEN", "STATUS_PAGE_CACHE_SECONDS",
)


def apply_environment(config: MutableMapping[str, Any], environ: Mapping[str, str] = os.environ) -> None:
    """Override config from environment variables of the same name (JSON values, else strings)."""
    config_environment(config, ENVIRONMENT_KEYS, environ)


def _clock_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class MonitorSettings:
    main_server_url: str
    reference_target_url: str | None
    probe_interval: timedelta
    retry_interval: timedelta
    thresholds: Thresholds
    connect_timeout: float
    read_timeout: float
    heartbeat_timeout: timedelta
    tick_seconds: float
    reserve_check_seconds: float
    notify_seconds: float
    lease_seconds: float
    lock_key: int
    recipients: dict[str, tuple[str, ...]] = field(default_factory=dict)
    servicedesk_webhook_url: str | None = None
    duty: WeeklyHours = WeeklyHours()
    customer_service_hours: WeeklyHours = WeeklyHours(end=time(16, 30))
    reminder_interval: timedelta | None = None
    public_base_url: str = "http://127.0.0.1:5000"
    page_cache_seconds: float = 2.0

    def webhook_for(self, role: str) -> str | None:
        """Return the webhook that takes the role's escalation instead of mail (Servicedesk's, if set)."""
        return self.servicedesk_webhook_url if role == SERVICEDESK else None

    def reaches(self, role: str) -> bool:
        """Return whether an escalation to the role goes anywhere: its webhook or at least one address."""
        return bool(self.webhook_for(role) or self.recipients.get(role))

    @property
    def lock_retry_seconds(self) -> float:
        """How often the lock is renewed by the active monitor and tried by a standby."""
        return max(self.lease_seconds / 3, 0.1)

    def detection_bound_seconds(self) -> float:
        """The longest a hard failure of a probed component takes to show on the status page.

        The last good probe just before the failure; the next one `interval` later, seen at the next
        tick; then `failures - 1` retries, each `retry` (or a whole probe, if longer) plus a tick after
        the one before; the confirming probe itself; a web worker's cached page, served stale for at
        most one more cache interval while the next one renders (status/cache.py).
        """
        probe = self.connect_timeout + self.read_timeout
        step = max(self.retry_interval.total_seconds(), probe) + self.tick_seconds
        return (self.probe_interval.total_seconds() + self.tick_seconds
                + (self.thresholds.failures_to_down - 1) * step + probe + 2 * self.page_cache_seconds)

    def failover_bound_seconds(self) -> float:
        """The longest a standby takes to act after the active monitor died (SIGKILL).

        SQLite: the dead monitor's lease runs out `lease` after its last renewal; the standby tries
        every third of that; its jobs run at their next tick. PostgreSQL frees the advisory lock when
        the dead session's socket closes, so there the lease term is not waited for.
        """
        return self.lease_seconds + self.lock_retry_seconds + self.tick_seconds

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MonitorSettings:
        base = config["MAIN_SERVER_URL"].rstrip("/")
        reminder = config.get("STATUS_REMINDER_MINUTES") or 0
        return cls(
            main_server_url=base + config["MAIN_SERVER_HEALTH_PATH"],
            reference_target_url=config.get("REFERENCE_TARGET_URL") or None,
            probe_interval=timedelta(seconds=float(config["STATUS_PROBE_INTERVAL_SECONDS"])),
            retry_interval=timedelta(seconds=float(config["STATUS_RETRY_INTERVAL_SECONDS"])),
            thresholds=Thresholds(int(config["STATUS_FAILURES_TO_DOWN"]), int(config["STATUS_SUCCESSES_TO_UP"])),
            connect_timeout=float(config["STATUS_PROBE_CONNECT_TIMEOUT"]),
            read_timeout=float(config["STATUS_PROBE_READ_TIMEOUT"]),
            heartbeat_timeout=timedelta(seconds=float(config["STATUS_HEARTBEAT_TIMEOUT_SECONDS"])),
            tick_seconds=float(config["STATUS_TICK_SECONDS"]),
            reserve_check_seconds=float(config["STATUS_RESERVE_CHECK_SECONDS"]),
            notify_seconds=float(config["STATUS_NOTIFY_SECONDS"]),
            lease_seconds=float(config["STATUS_LEASE_SECONDS"]),
            lock_key=int(config["STATUS_MONITOR_LOCK_KEY"]),
            recipients=_recipients(config.get("STATUS_ESCALATION_RECIPIENTS") or {}),
            servicedesk_webhook_url=config.get("STATUS_SERVICEDESK_WEBHOOK_URL") or None,
            duty=_weekly_hours(config.get("STATUS_ON_DUTY") or {}),
            customer_service_hours=_weekly_hours(config.get("STATUS_CUSTOMER_SERVICE_OPEN") or {}),
            reminder_interval=timedelta(minutes=float(reminder)) if reminder else None,
            public_base_url=str(config["STATUS_PUBLIC_BASE_URL"]).rstrip("/"),
            page_cache_seconds=float(config.get("STATUS_PAGE_CACHE_SECONDS") or 0),
        )


def _weekly_hours(raw: Mapping[str, Any]) -> WeeklyHours:
    return WeeklyHours(weekdays=frozenset(raw.get("weekdays", (0, 1, 2, 3, 4))),
                       start=_clock_time(raw.get("start", "08:00")), end=_clock_time(raw.get("end", "17:00")))


def _recipients(raw: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    unknown = set(raw) - set(ESCALATION_ROLES)
    if unknown:
        raise ValueError(f"STATUS_ESCALATION_RECIPIENTS: unknown roles {sorted(unknown)}")
    return {role: (value,) if isinstance(value, str) else tuple(value) for role, value in raw.items() if value}


def current_settings() -> MonitorSettings:
    """Return the settings of the current app."""
    return MonitorSettings.from_config(current_app.config)

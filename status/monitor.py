"""One cycle of the monitor: probe what is due, move the state machines, open and close incidents.

No transaction is held while a probe waits on the network. Component rows are updated
with a compare-and-set on their version, so a second writer can never apply a result twice.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update

from core.clock import to_local
from core.extensions import db
from core.store import begin_write
from status import incidents
from core.clockjump import due_clause
from status.incidents import CUSTOMER_SERVICE, MAIN_SERVER, REFERENCE_TARGET
from status.machine import DOWN, MAINTENANCE, UP, Machine, Observation, Transition, advance
from status.models import Component, Outage, ProbeResult
from status.probes import HEALTHY, REACHABLE, ProbeOutcome, Prober, http_probe
from status.rules import (
    HEARTBEAT_DOWN, HEARTBEAT_UP, classify_outage, customer_service_lost_contact, heartbeat_state, opened_at,
    silence_started,
)
from status.scenarios import TRACK_CUSTOMER_SERVICE, TRACK_OUTAGE, Scenario
from status.settings import MonitorSettings
from core.formatting import utc_from_aware


@dataclass
class CycleReport:
    probed: dict[str, bool] = field(default_factory=dict)
    transitions: dict[str, tuple[Transition, ...]] = field(default_factory=dict)


def _targets(settings: MonitorSettings) -> dict[str, tuple[str, range]]:
    targets = {MAIN_SERVER: (settings.main_server_url, HEALTHY)}
    if settings.reference_target_url:
        targets[REFERENCE_TARGET] = (settings.reference_target_url, REACHABLE)
    return targets


def run_probe_cycle(now: datetime, settings: MonitorSettings, *, prober: Prober = http_probe) -> CycleReport:
    """Probe the components that are due, then bring heartbeat state and incidents up to date."""
    report = CycleReport()
    targets = _targets(settings)
    due = db.session.scalar(
        select(Component.id).where(Component.key.in_(targets), Component.kind == "probe")
        .where(due_clause(Component.next_check_at, now, max(settings.probe_interval, settings.retry_interval)))
        .limit(1)
    )
    db.session.commit()  # end the read before any network wait
    outcomes = {}
    if due is not None:
        outcomes = _probe_all(targets, settings, prober)
    begin_write()
    _forget_future_stamps(now)
    if outcomes:
        for key, outcome in outcomes.items():
            report.probed[key] = outcome.ok
            report.transitions[key] = _record(key, now, outcome.ok, outcome.latency_ms, outcome.detail, settings)
        _schedule_next(targets, now, settings)
    _evaluate_heartbeat(now, settings)
    reconcile_incidents(now, settings)
    db.session.commit()
    return report


def _probe_all(targets: dict[str, tuple[str, range]], settings: MonitorSettings,
               prober: Prober) -> dict[str, ProbeOutcome]:
    """Probe every target at once: their results describe the same moment, and a cycle never takes
    longer than one probe's timeout, which the detection bound counts once (even when both hang)."""
    timeout = (settings.connect_timeout, settings.read_timeout)
    with ThreadPoolExecutor(len(targets)) as pool:
        futures = {key: pool.submit(prober, url, healthy, timeout) for key, (url, healthy) in targets.items()}
        return {key: future.result() for key, future in futures.items()}


def _forget_future_stamps(now: datetime) -> None:
    """Bring stamps written before the clock went back to `now`, so silence and availability count again."""
    for column in (Component.last_heartbeat_at, Component.monitored_since):
        db.session.execute(update(Component).where(column > now).values({column: now})
                           .execution_options(synchronize_session=False))


def _record(key: str, now: datetime, ok: bool, latency_ms: int | None, detail: str,
            settings: MonitorSettings) -> tuple[Transition, ...]:
    row = db.session.execute(select(Component).where(Component.key == key)
                             .execution_options(populate_existing=True)).scalar_one()
    maintenance = incidents.in_maintenance(key, now)
    db.session.add(ProbeResult(component_id=row.id, at=now, ok=ok, latency_ms=latency_ms, detail=detail[:120],
                               in_maintenance=maintenance))
    before = Machine(row.state, row.consecutive_failures, row.consecutive_successes, row.failure_started_at,
                     row.recovery_started_at, row.paused_state)
    after, transitions = advance(before, Observation(now, ok, maintenance), settings.thresholds)
    values = {
        "state": after.state, "consecutive_failures": after.failures, "consecutive_successes": after.successes,
        "failure_started_at": after.failure_started_at, "recovery_started_at": after.recovery_started_at,
        "paused_state": after.paused_state, "last_checked_at": now, "version": row.version + 1,
        "monitored_since": row.monitored_since or now,
    }
    if after.state != before.state:
        values["state_changed_at"] = now
    result = db.session.execute(update(Component).where(Component.id == row.id, Component.version == row.version)
                                .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return ()  # another writer moved this component first; its result stands
    if Transition.CONFIRMED_DOWN in transitions:
        db.session.add(Outage(component_id=row.id, started_at=after.failure_started_at))
    if Transition.CONFIRMED_UP in transitions:
        _close_outage(row.id, before.recovery_started_at or now)
    return transitions


def _close_outage(component_id: int, ended_at: datetime) -> None:
    db.session.execute(update(Outage).where(Outage.component_id == component_id, Outage.ended_at.is_(None))
                       .values(ended_at=ended_at).execution_options(synchronize_session=False))


def _schedule_next(targets: dict, now: datetime, settings: MonitorSettings) -> None:
    states = set(db.session.scalars(select(Component.state).where(Component.key.in_(targets))))
    # After a failure, look again sooner: down is confirmed (or cleared) in retry steps.
    step = settings.retry_interval if states - {UP, MAINTENANCE} else settings.probe_interval
    db.session.execute(update(Component).where(Component.key.in_(targets)).values(next_check_at=now + step)
                       .execution_options(synchronize_session=False))


def _evaluate_heartbeat(now: datetime, settings: MonitorSettings) -> None:
    row = db.session.execute(select(Component).where(Component.key == CUSTOMER_SERVICE)
                             .execution_options(populate_existing=True)).scalar_one()
    opened = opened_at(to_local(now), settings.customer_service_hours)
    expected_since = utc_from_aware(opened) if opened else None
    state = heartbeat_state(row.last_heartbeat_at, now, settings.heartbeat_timeout, expected_since)
    if incidents.in_maintenance(CUSTOMER_SERVICE, now):
        state = MAINTENANCE
    if state == row.state:
        return
    values: dict = {"state": state, "state_changed_at": now, "version": row.version + 1, "last_checked_at": now}
    silent_since = silence_started(row.last_heartbeat_at, expected_since) if row.last_heartbeat_at else now
    if state == HEARTBEAT_DOWN:
        values["failure_started_at"] = silent_since
    elif state == HEARTBEAT_UP:
        values["failure_started_at"] = None
    result = db.session.execute(update(Component).where(Component.id == row.id, Component.version == row.version)
                                .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return
    if state == HEARTBEAT_DOWN:
        db.session.add(Outage(component_id=row.id, started_at=silent_since))
    elif row.state == DOWN:
        _close_outage(row.id, row.last_heartbeat_at or now)


def reconcile_incidents(now: datetime, settings: MonitorSettings) -> None:
    """Make the open incidents match what the components say (level-based, so restarts are harmless)."""
    states = {row.key: row for row in db.session.scalars(
        select(Component).execution_options(populate_existing=True))}
    main = states[MAIN_SERVER]
    reference_state = states[REFERENCE_TARGET].state if settings.reference_target_url else UP
    _reconcile_outage(main, classify_outage(main.state, reference_state), now, settings)
    _reconcile_customer_service(main.state, states[CUSTOMER_SERVICE], now, settings)


def _reconcile_outage(main: Component, scenario: Scenario | None, now: datetime, settings: MonitorSettings) -> None:
    incident = incidents.open_incident_of(TRACK_OUTAGE, for_update=True)
    if incident is None:
        if scenario is not None:
            incidents.open_incident(scenario, main.failure_started_at or now, now, settings)
        return
    if main.state == UP:
        if incident.recovered_at is None:
            incidents.mark_recovered(incident, now, settings)
        return
    if scenario is None:
        return  # suspect or in maintenance: nothing confirmed either way
    if incident.recovered_at is not None:
        incidents.relapse(incident, now)
    if scenario.value != incident.scenario:
        incidents.reclassify(incident, scenario, now, settings)


def _reconcile_customer_service(main_state: str, heartbeat: Component, now: datetime,
                                settings: MonitorSettings) -> None:
    incident = incidents.open_incident_of(TRACK_CUSTOMER_SERVICE, for_update=True)
    if incident is None:
        if customer_service_lost_contact(main_state, heartbeat.state):
            incidents.open_incident(Scenario.CUSTOMER_SERVICE_CONTACT_LOST,
                                    heartbeat.failure_started_at or now, now, settings)
    elif heartbeat.state == HEARTBEAT_UP:
        incidents.resolve(incident, "Kundservice har kontakt igen.", now, settings)

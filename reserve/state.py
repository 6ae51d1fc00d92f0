"""Reserve mode as the rest of the app sees it: whether the main server is out, the banner on
every page, and "data as of" on every screen and printout.

The status monitor owns the facts (status.readmodel); this module only reads them and adds
what the runbooks say to do.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from core.auth.roles import Role
from core.clock import utcnow
from core.extensions import db
from reserve.phases import Phase, phase_of
from reserve.runbooks import RESERVE_ROUTINE, Runbook
from status import readmodel
from status.readmodel import ReserveState, banner_for
from status.incidents import MAIN_SERVER
from status.rules import prognosis_valid
from status.scenarios import Scenario
from core.formatting import local_text

def current_state() -> ReserveState | None:
    """Return the reserve routine's state (None: no outage and no reserve routine)."""
    return readmodel.current_reserve_state()


def main_server_out(state: ReserveState | None) -> bool:
    """Return whether the main server is out (or the reserve routine still holds after it came back)."""
    return state is not None and state.scenario.main_server_down and (state.active or state.outage_ongoing)


def data_as_of() -> datetime | None:
    """Return the time of the last successful sync with the main server, as far as anyone knows."""
    return readmodel.data_as_of()


def printout_data_as_of() -> datetime | None:
    """Return "data as of" for a printout made now: set while the main server is out, else None."""
    return data_as_of() if main_server_out(current_state()) else None


def runbook_for(key: str) -> Runbook | None:
    return current_app.extensions["reserve.runbooks"].get(key)


@dataclass(frozen=True)
class CallerScript:
    """What customer service says now: the phase, its scenario's runbook, and that phase's sentences."""

    phase: Phase
    runbook: Runbook
    lines: tuple[str, ...]


def caller_script(reserve: ReserveState | None, public: dict, now: datetime) -> CallerScript | None:
    """Return the one script customer service reads to callers now (None: no disruption to speak of).

    The scenario is the reserve state's, else that of the open disruption of customer service or
    the telephony, else (suspected, resolved) that of the main server or the latest incident.
    """
    other = None if reserve else readmodel.current_incident(any_track=True)
    latest = None if reserve or other else readmodel.latest_incident()
    suspect = any(c["key"] == MAIN_SERVER and c["state"] == "suspect" for c in public.get("components", ()))
    phase = phase_of(reserve, main_server_suspect=suspect, other_incident_open=other is not None,
                     resolved_at=latest.resolved_at if latest else None, now=now)
    if phase is None:
        return None
    if reserve:
        scenario = reserve.scenario
    elif other:
        scenario = Scenario(other.scenario)
    elif phase is Phase.RESOLVED and latest:
        scenario = Scenario(latest.scenario)
    else:
        scenario = Scenario.MAIN_SERVER_OUTAGE
    runbook = runbook_for(scenario.value)
    lines = runbook.script.get(phase, ()) if runbook else ()
    return CallerScript(phase, runbook, lines) if runbook and lines else None


def _roles() -> frozenset[Role]:
    if has_request_context() and current_user.is_authenticated:
        return current_user.roles
    return frozenset()


def prognosis_text(state: ReserveState, now: datetime) -> str:
    """Return the prognosis in plain Swedish; one whose time has passed counts as none."""
    if state.prognosis_text and prognosis_valid(state.prognosis_until, now):
        return f"{state.prognosis_text} Beräknat åtgärdat {local_text(state.prognosis_until)}."
    if state.prognosis_text:
        return "Saknas (den senaste prognosen har passerat)."
    return "Saknas."


def page_banners(_app: object) -> list[dict]:
    """Answer core.web.signals.page_banners."""
    return banners()


def banners() -> list[dict]:
    """Return the outage / reserve banner (the status monitor's, with prognosis and what to do)
    and the "data as of" line, for the top of every page."""
    try:
        state = current_state()
        base = banner_for(state)
        if not base:
            return []
        as_of = data_as_of()
    except SQLAlchemyError:
        current_app.logger.exception("reserve banner: store unreadable")
        return []
    now = utcnow()
    scenario = runbook_for(state.scenario.value)
    routine = runbook_for(RESERVE_ROUTINE)
    todo = (routine if state.active else scenario).banner_text(_roles()) if (routine and scenario) else ""
    since = f"{state.scenario.guide.title} sedan {local_text(state.started_at)}."
    if state.active:
        since += f" Reservrutin gäller sedan {local_text(state.since)}."
    banner = dict(base[0])
    banner["text"] = f"{since} Prognos: {prognosis_text(state, now)} {todo}".strip()
    banner["kind"] = "reserve" if state.active else "outage"
    if not main_server_out(state):
        return [banner]  # e.g. a telephony disruption: the main server answers, the data is current
    as_of_text = local_text(as_of) if as_of else "okänt"
    reach = ("Huvudsystemet kan inte nås." if state.outage_ongoing
             else "Huvudsystemet svarar igen; efterregistreringen pågår.")
    data_banner = {"level": "info", "kind": "data_as_of", "title": f"Uppgifter per {as_of_text}.",
                   "text": f"{reach} Det du ser kommer från den lokala databasen som den var vid senaste "
                           "lyckade synkronisering."}
    return [banner, data_banner]


def awaiting_registration_ids() -> frozenset[int]:
    """Return the prescriptions that await registration on the main server (once per request)."""
    from reserve.models import AwaitingRegistration

    key = id(request._get_current_object()) if has_request_context() else None  # noqa: SLF001
    cached = g.get("_reserve_awaiting")
    if cached is not None and cached[0] == key and key is not None:
        return cached[1]
    ids = frozenset(db.session.scalars(select(AwaitingRegistration.prescription_id)
                                       .where(AwaitingRegistration.registered_at.is_(None))))
    g._reserve_awaiting = (key, ids)
    return ids

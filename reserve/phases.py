"""The phases of an outage as customer service meets them, and which one we are in.

Seed 001: customer service first hears of a problem, then tells callers to wait ("Förskrivare
ombeds avvakta"), after four hours without prognosis takes acute prescriptions by telephone,
and when the main server answers again everything captured is registered afterwards. Each phase
has its own script (runbooks/*.toml, [script]); only one is said at a time.
No Flask and no store here: plain values in, a phase out.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum

from status.readmodel import ReserveState
from status.scenarios import Scenario

# How long after an incident is resolved customer service still says so to callers.
RESOLVED_SCRIPT_FOR = timedelta(hours=24)


class Phase(str, Enum):
    SUSPECTED = "suspected"  # the monitor sees the main server fail, not yet confirmed
    OUTAGE = "outage"  # confirmed; callers wait for the four hours (or a prognosis)
    RESERVE = "reserve"  # the reserve routine applies: acute items by telephone
    RECOVERING = "recovering"  # the main server answers again; back-registration runs
    RESOLVED = "resolved"  # over; everything registered

    @property
    def label(self) -> str:
        return PHASE_LABELS[self]


PHASE_LABELS = {
    Phase.SUSPECTED: "Misstänkt störning",
    Phase.OUTAGE: "Driftstörning – förskrivare ombeds avvakta",
    Phase.RESERVE: "Reservrutin gäller",
    Phase.RECOVERING: "Huvudsystemet svarar igen – efterregistrering pågår",
    Phase.RESOLVED: "Störningen är över",
}

# The phases a scenario's script must cover: only an outage of the main server is suspected
# by the monitor and ends in back-registration; IT may let the reserve routine apply in any.
_MAIN_SERVER_PHASES = (Phase.SUSPECTED, Phase.OUTAGE, Phase.RESERVE, Phase.RECOVERING, Phase.RESOLVED)
_LOCAL_PHASES = (Phase.OUTAGE, Phase.RESERVE, Phase.RESOLVED)


def script_phases(scenario: Scenario) -> tuple[Phase, ...]:
    """Return the phases a scenario's script has sentences for."""
    return _MAIN_SERVER_PHASES if scenario.main_server_down else _LOCAL_PHASES


def phase_of(state: ReserveState | None, *, main_server_suspect: bool = False, other_incident_open: bool = False,
             resolved_at: datetime | None = None, now: datetime | None = None) -> Phase | None:
    """Return the phase customer service is in (None: nothing to tell callers).

    `state` is the reserve routine's state (status.readmodel), `main_server_suspect` whether the
    monitor sees the main server fail without having confirmed it, `other_incident_open` whether
    customer service's contact or the telephony is disrupted, `resolved_at` when the latest
    incident was resolved.
    """
    if state is not None:
        if state.active:
            return Phase.RESERVE if state.outage_ongoing else Phase.RECOVERING
        return Phase.OUTAGE if state.outage_ongoing else Phase.RECOVERING
    if other_incident_open:
        return Phase.OUTAGE
    if main_server_suspect:
        return Phase.SUSPECTED
    if resolved_at is not None and now is not None and now - resolved_at <= RESOLVED_SCRIPT_FOR:
        return Phase.RESOLVED
    return None

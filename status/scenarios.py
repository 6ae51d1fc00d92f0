"""The four outage scenarios of seed 001 section 3, with what the seed says to do."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

TRACK_OUTAGE = "outage"  # the main server (and the regional IT around it)
TRACK_CUSTOMER_SERVICE = "customer_service"
TRACK_TELEPHONY = "telephony"
TRACKS = (TRACK_OUTAGE, TRACK_CUSTOMER_SERVICE, TRACK_TELEPHONY)

INVESTIGATING, IDENTIFIED, MONITORING, RESOLVED = "investigating", "identified", "monitoring", "resolved"
INCIDENT_STATUSES = (INVESTIGATING, IDENTIFIED, MONITORING, RESOLVED)
STATUS_LABELS = {
    INVESTIGATING: "Felsökning pågår",
    IDENTIFIED: "Orsak identifierad",
    MONITORING: "Åtgärdat – bevakas",
    RESOLVED: "Löst",
}


class Scenario(str, Enum):
    FULL_REGIONAL_OUTAGE = "full_regional_outage"
    MAIN_SERVER_OUTAGE = "main_server_outage"
    CUSTOMER_SERVICE_CONTACT_LOST = "customer_service_contact_lost"
    TELEPHONY_DISRUPTION = "telephony_disruption"

    @property
    def track(self) -> str:
        return SCENARIO_TRACKS[self]

    @property
    def main_server_down(self) -> bool:
        """Whether this scenario means the main server cannot be reached (the local store is all there is)."""
        return self in (Scenario.FULL_REGIONAL_OUTAGE, Scenario.MAIN_SERVER_OUTAGE)

    @property
    def guide(self) -> ScenarioGuide:
        return GUIDES[self]


SCENARIO_TRACKS = {
    Scenario.FULL_REGIONAL_OUTAGE: TRACK_OUTAGE,
    Scenario.MAIN_SERVER_OUTAGE: TRACK_OUTAGE,
    Scenario.CUSTOMER_SERVICE_CONTACT_LOST: TRACK_CUSTOMER_SERVICE,
    Scenario.TELEPHONY_DISRUPTION: TRACK_TELEPHONY,
}


@dataclass(frozen=True)
class ScenarioGuide:
    title: str  # the seed's heading
    summary: str  # one line for banners and mails
    actions: tuple[str, ...]  # what the seed says to do, in its own words
    automatic_reserve: bool


# The action texts are seed 001 section 3, quoted; only the system names are generalised.
GUIDES = {
    Scenario.FULL_REGIONAL_OUTAGE: ScenarioGuide(
        title="Fullskaligt IT-haveri i regionen",
        summary="Regionens IT-miljö och huvudsystemet går inte att nå.",
        actions=(
            "Huvudsystemet förutsätts inte kunna nås av vare sig förskrivare eller Kundservice.",
            "Hjälpmedel avvaktar instruktioner från regionala IT-funktionen men utför inga planerade åtgärder.",
            "Reservrutinen aktiveras inte automatiskt.",
        ),
        automatic_reserve=False,
    ),
    Scenario.MAIN_SERVER_OUTAGE: ScenarioGuide(
        title="Huvudservern är oåtkomlig för samtliga användare",
        summary="Huvudsystemet går inte att nå, men regionens IT-miljö i övrigt är opåverkad.",
        actions=(
            "Hjälpmedel anmäler omedelbart till systemansvarig (SA) på den regionala IT-funktionen.",
            "Om SA inte är i tjänst kontaktas enhetschef för SA samt en incident skapas hos Servicedesk.",
            "Kontakt tas även med systemleverantör.",
            "Kundservice informerar inringande förskrivare om driftstörningen och hänvisar till "
            "driftinfo för mer information och prognos. Förskrivare ombeds avvakta.",
            "Efter 4 timmar och om prognos fortfarande saknas aktiveras reservrutin för akuta "
            "förskrivningar. Information publiceras om att reservrutin gäller samt att kontakt tas "
            "med Kundservice.",
        ),
        automatic_reserve=True,
    ),
    Scenario.CUSTOMER_SERVICE_CONTACT_LOST: ScenarioGuide(
        title="Kundservice förlorar kontakt med huvudsystemet",
        summary="Kundservice har tappat kontakten på grund av en lokal driftstörning.",
        actions=(
            "Kundservice kopplar upp sig via tjänstemobiler i den mån det är möjligt.",
            "Den regionala IT-funktionen ombeds lägga upp särskild information om detta på driftinfo.",
            "Lavinmeddelande läggs in på telefonslingan.",
        ),
        automatic_reserve=False,
    ),
    Scenario.TELEPHONY_DISRUPTION: ScenarioGuide(
        title="Störningar i telefonin",
        summary="Telefonin är störd.",
        actions=(
            "Inringande informeras via lavinmeddelande.",
            "Den regionala IT-funktionen informerar via driftinfo.",
        ),
        automatic_reserve=False,
    ),
}

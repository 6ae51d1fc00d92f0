"""The Swedish texts of status mails and timeline entries. No personal data, ever."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from status.rules import ROLE_LABELS
from status.scenarios import STATUS_LABELS, Scenario
from core.formatting import local_text


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str


def opened_text(scenario: Scenario, started_at: datetime) -> str:
    """Return the first timeline entry of an incident opened by the monitor."""
    since = local_text(started_at)
    if scenario is Scenario.MAIN_SERVER_OUTAGE:
        return (f"Huvudservern svarar inte sedan {since}. Felsökning pågår. Kundservice informerar "
                "inringande förskrivare och hänvisar hit för information och prognos. Förskrivare ombeds avvakta.")
    if scenario is Scenario.FULL_REGIONAL_OUTAGE:
        return (f"Regionens IT-miljö och huvudservern går inte att nå sedan {since}. Hjälpmedel avvaktar "
                "instruktioner från regionala IT-funktionen och utför inga planerade åtgärder.")
    if scenario is Scenario.CUSTOMER_SERVICE_CONTACT_LOST:
        return (f"Kundservice har inte haft kontakt med systemet sedan {since}. Kundservice kopplar upp sig "
                "via tjänstemobiler i den mån det är möjligt.")
    return "Telefonin är störd. Inringande informeras via lavinmeddelande."


def reclassified_text(scenario: Scenario) -> str:
    return f"Läget har ändrats: {scenario.guide.title}. {scenario.guide.summary}"


def automatic_reserve_text(activated_at: datetime) -> str:
    return (f"Reservrutin gäller från {local_text(activated_at)}: fyra timmar har gått utan prognos. "
            "Akuta förskrivningar tas emot via Kundservice.")


# Shown on the public status page: written for the public, no internal words.
AUTOMATIC_RESERVE_REASON = ("Fyra timmar utan prognos för när felet är åtgärdat: reservrutinen gäller "
                            "automatiskt enligt regionens rutin vid driftstörning.")


def escalation_mail(system: str, scenario: Scenario, event: str, role: str, *, incident_id: int,
                    started_at: datetime, reference: str | None, status_url: str,
                    reminder: int = 0) -> Mail:
    """Return the mail to one escalation recipient about an incident event."""
    guide = scenario.guide
    ref = f" (ärende {reference})" if reference else ""
    heading = {
        "opened": "Driftstörning",
        "reminder": f"Påminnelse {reminder}: driftstörning pågår",
        "reserve_activated": "Reservrutin gäller",
        "reserve_ended": "Reservrutinen har upphört",
        "resolved": "Driftstörningen är över",
    }[event]
    lines = [
        f"{heading}: {guide.title}.",
        guide.summary,
        "",
        f"Händelse nr: {incident_id}{ref}",
        f"Började: {local_text(started_at)} (första misslyckade kontroll)",
        f"Du får detta som: {ROLE_LABELS[role]}",
    ]
    if event in ("opened", "reminder"):
        lines += ["", "Enligt rutinen:", *(f"- {action}" for action in guide.actions)]
    lines += ["", f"Driftstatus: {status_url}", "", f"/{system}"]
    return Mail(f"[{system}] {heading}: {guide.title}{ref}", "\n".join(lines))


def subscriber_update_mail(system: str, scenario: Scenario, status: str, message: str, *, at: datetime,
                           started_at: datetime, prognosis: str | None, reserve_active: bool,
                           status_url: str, unsubscribe_url: str) -> Mail:
    """Return the mail a subscriber gets for one incident timeline update."""
    lines = [
        message,
        "",
        f"Händelse: {scenario.guide.title}",
        f"Status: {STATUS_LABELS[status]}",
        f"Uppdaterad: {local_text(at)}",
        f"Började: {local_text(started_at)}",
    ]
    if prognosis:
        lines.append(f"Prognos: {prognosis}")
    lines.append("Reservrutin: " + ("gäller" if reserve_active else "gäller inte"))
    lines += ["", f"Mer information: {status_url}", *_footer(system, unsubscribe_url)]
    return Mail(f"[{system} driftinfo] {scenario.guide.title} – {STATUS_LABELS[status]}", "\n".join(lines))


def subscriber_driftinfo_mail(system: str, title: str, body: str, *, at: datetime, status_url: str,
                              unsubscribe_url: str) -> Mail:
    lines = [title, "", body, "", f"Publicerad: {local_text(at)}", f"Mer information: {status_url}",
             *_footer(system, unsubscribe_url)]
    return Mail(f"[{system} driftinfo] {title}", "\n".join(lines))


def confirmation_mail(system: str, confirm_url: str) -> Mail:
    body = "\n".join([
        f"Någon, troligen du, vill prenumerera på driftinformation från {system}.",
        "",
        f"Bekräfta prenumerationen: {confirm_url}",
        "",
        "Länken gäller i sju dagar. Gör ingenting om du inte vill prenumerera; då får du inga fler mejl.",
    ])
    return Mail(f"[{system}] Bekräfta prenumeration på driftinformation", body)


def servicedesk_payload(system: str, scenario: Scenario, *, incident_id: int, reference: str,
                        started_at: datetime, status_url: str) -> dict:
    """Return the JSON a Servicedesk webhook receives when an incident is opened there."""
    return {
        "reference": reference,
        "source": system,
        "incident_id": incident_id,
        "title": scenario.guide.title,
        "description": scenario.guide.summary,
        "started_at": local_text(started_at),
        "status_url": status_url,
    }


def _footer(system: str, unsubscribe_url: str) -> list[str]:
    return ["", "--", f"Du får detta mejl eftersom du prenumererar på driftinformation från {system}.",
            f"Avsluta prenumerationen: {unsubscribe_url}"]

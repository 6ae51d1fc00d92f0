"""The reconciliation report of an incident (avstämning): captured = registered + resolved + cancelled.

Every item captured under the incident is one line, followed through its chain of edits and
re-sends to where it ended: registered (with the main server's id), resolved (a conflict
linked or sent anew), cancelled, or not yet done, with the reason. Nothing is left out: an
item that is not settled is listed as a difference. Optionally the registered ones are
checked against the main server (/have), which lists any the server does not know.

No personal data: what was captured is named by kind and key, who captured it by user name.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select

from core.clock import to_local, utcnow
from core.errors import NotFound
from core.extensions import db
from core.models import User
from status import readmodel
from sync.client import HttpMainServer, MainServer, TransportError
from sync.models import OutboxItem, SyncAudit
from sync.balance import OUTCOME_LABELS, OUTSTANDING, Balance, ChainLink, balance, chain_outcome
from sync.rules import ACKED, CHANNEL_LABELS, KIND_LABELS, STATE_LABELS
from sync.settings import current_settings


@dataclass(frozen=True)
class Line:
    key: str
    kind: str
    channel: str
    captured_at: datetime
    captured_by: str | None
    approved_by: str | None
    approved_at: datetime | None
    final_key: str
    final_state: str
    outcome: str
    server_id: str | None
    registered_at: datetime | None
    resolution: str | None
    edits: int
    difference: str | None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def channel_label(self) -> str:
        return CHANNEL_LABELS[self.channel]

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABELS[self.outcome]

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.final_state]


@dataclass(frozen=True)
class Report:
    incident_id: int
    incident_title: str
    started_at: datetime
    resolved_at: datetime | None
    generated_at: datetime
    lines: tuple[Line, ...]
    balance: Balance
    verified: bool  # registered lines were checked against the main server
    verify_error: str | None = None

    @property
    def differences(self) -> tuple[Line, ...]:
        return tuple(line for line in self.lines if line.difference)


def build(incident_id: int, *, server: MainServer | None = None, now: datetime | None = None) -> Report:
    """Return the incident's reconciliation; with `server`, registered items are checked by /have."""
    incident = readmodel.incident(incident_id)
    if incident is None:
        raise NotFound("Händelsen finns inte.")
    items = list(db.session.scalars(select(OutboxItem).where(OutboxItem.incident_id == incident_id)
                                    .order_by(OutboxItem.created_at, OutboxItem.id)
                                    .execution_options(populate_existing=True)))
    by_key = {item.key: item for item in items}
    conflicted = set(db.session.scalars(select(SyncAudit.item_id).where(
        SyncAudit.item_id.in_([i.id for i in items]), SyncAudit.action.like("resolved_%"))))
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(
        {i.created_by_id for i in items} | {i.approved_by_id for i in items}))).all())
    lines = []
    for root in (i for i in items if i.supersedes_key is None or i.supersedes_key not in by_key):
        chain = _chain(root, by_key)
        links = [ChainLink(i.key, i.state, i.server_id, i.id in conflicted) for i in chain]
        outcome, why = chain_outcome(links)
        final = chain[-1]
        approver = next((i for i in reversed(chain) if i.approved_by_id), None)
        lines.append(Line(
            key=root.key, kind=root.kind, channel=root.channel, captured_at=root.created_at,
            captured_by=names.get(root.created_by_id), approved_by=names.get(approver.approved_by_id) if approver else None,
            approved_at=approver.approved_at if approver else None, final_key=final.key, final_state=final.state,
            outcome=outcome, server_id=final.server_id, registered_at=final.registered_at,
            resolution=next((i.resolution for i in reversed(chain) if i.resolution), None), edits=len(chain) - 1,
            difference=why if outcome == OUTSTANDING else None))
    verified, verify_error = False, None
    if server is not None:
        lines, verify_error = _verify(lines, server)
        verified = verify_error is None
    db.session.commit()
    return Report(incident_id=incident.id, incident_title=incident.title,
                  started_at=incident.started_at, resolved_at=incident.resolved_at, generated_at=now or utcnow(),
                  lines=tuple(lines), balance=balance(line.outcome for line in lines), verified=verified,
                  verify_error=verify_error)


def build_checked(incident_id: int) -> Report:
    """Return the incident's reconciliation with its registered items checked at the main server (/have)."""
    with HttpMainServer(current_settings()) as client:
        return build(incident_id, server=client)


def _chain(root: OutboxItem, by_key: dict[str, OutboxItem]) -> list[OutboxItem]:
    chain, seen = [root], {root.key}
    while chain[-1].superseded_by_key and chain[-1].superseded_by_key in by_key:
        successor = by_key[chain[-1].superseded_by_key]
        if successor.key in seen:
            break
        chain.append(successor)
        seen.add(successor.key)
    return chain


def _verify(lines: list[Line], server: MainServer) -> tuple[list[Line], str | None]:
    """Mark registered lines whose key the main server does not know (or knows by another id)."""
    keys = [line.final_key for line in lines if line.final_state == ACKED]
    try:
        known = server.have(keys) if keys else {}
    except TransportError as exc:
        return lines, exc.message
    checked = []
    for line in lines:
        if line.final_state == ACKED and line.final_key not in known:
            line = replace(line, outcome=OUTSTANDING, difference="huvudservern känner inte till posten")
        elif line.final_state == ACKED and known[line.final_key] != line.server_id:
            line = replace(line, outcome=OUTSTANDING,
                           difference=f"huvudservern har id {known[line.final_key]}, här står {line.server_id}")
        checked.append(line)
    return checked, None


def incidents_with_items() -> list[dict]:
    """Return every incident that has captured items, newest first, with its balance."""
    incidents = readmodel.incidents(db.session.scalars(
        select(OutboxItem.incident_id).where(OutboxItem.incident_id.is_not(None)).distinct()))
    return [{"incident": incident, "report": build(incident.id)} for incident in incidents]


# --- Formats ------------------------------------------------------------------------------------

HEADER = ("nyckel", "typ", "kanal", "registrerad_av", "registrerad_tid", "godkänd_av", "godkänd_tid", "utfall",
          "läge", "huvudserverns_id", "inskickad_tid", "lösning", "ändringar", "slutlig_nyckel", "avvikelse")


def _time(moment: datetime | None) -> str:
    local = to_local(moment)
    return local.strftime("%Y-%m-%d %H:%M:%S") if local else ""


def rows(report: Report) -> list[tuple[str, ...]]:
    return [(line.key, line.kind_label, line.channel_label, line.captured_by or "", _time(line.captured_at),
             line.approved_by or "", _time(line.approved_at), line.outcome_label, line.state_label,
             line.server_id or "", _time(line.registered_at), line.resolution or "", str(line.edits), line.final_key,
             line.difference or "") for line in report.lines]


def summary(report: Report) -> list[tuple[str, int]]:
    b = report.balance
    return [("Registrerade under händelsen", b.captured), ("Inskickade", b.registered), ("Lösta konflikter", b.resolved),
            ("Makulerade", b.cancelled), ("Ej klara (avvikelser)", b.outstanding)]


def to_csv(report: Report) -> str:
    """Return the report as CSV (semicolon-separated, as Swedish spreadsheets expect)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["# Avstämning händelse", report.incident_id, report.incident_title])
    for label, count in summary(report):
        writer.writerow(["#", label, count])
    writer.writerow(["#", "Balanserar", "ja" if report.balance.balanced else "nej"])
    writer.writerow(HEADER)
    writer.writerows(rows(report))
    return out.getvalue()


def to_text(report: Report) -> str:
    lines = [f"Avstämning, händelse {report.incident_id}: {report.incident_title}",
             f"Från {_time(report.started_at)} till {_time(report.resolved_at) or 'pågår'}; "
             f"skapad {_time(report.generated_at)}"]
    lines += [f"  {label}: {count}" for label, count in summary(report)]
    b = report.balance
    lines.append(f"  {b.captured} = {b.registered} + {b.resolved} + {b.cancelled}"
                 + (" – balanserar" if b.balanced else f" + {b.outstanding} ej klara – BALANSERAR INTE"))
    for line in report.differences:
        lines.append(f"  AVVIKELSE {line.key} {line.kind_label}: {line.difference}")
    return "\n".join(lines) + "\n"


def to_pdf(report: Report) -> bytes:
    """Return the report as an A4 landscape PDF: the balance, then every item."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from core.pdf import FONT, FONT_BOLD, register_fonts  # the project's fonts with å ä ö

    register_fonts()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=f"Avstämning händelse {report.incident_id}")
    title = ParagraphStyle("title", fontName=FONT_BOLD, fontSize=14, leading=18)
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
    small = ParagraphStyle("small", fontName=FONT, fontSize=7, leading=8.5)
    b = report.balance
    story = [Paragraph(f"Avstämning efter driftstörning – händelse {report.incident_id}", title),
             Paragraph(f"{report.incident_title}. Från {_time(report.started_at)} till "
                       f"{_time(report.resolved_at) or 'pågår'}. Skapad {_time(report.generated_at)}."
                       + (" Kontrollerad mot huvudservern." if report.verified else ""), body), Spacer(1, 4 * mm)]
    story.append(Table([[label, str(count)] for label, count in summary(report)]
                       + [["Balanserar", "ja" if b.balanced else "NEJ"]],
                       colWidths=(70 * mm, 25 * mm),
                       style=TableStyle([("FONT", (0, 0), (-1, -1), FONT, 9),
                                         ("FONT", (0, -1), (-1, -1), FONT_BOLD, 9),
                                         ("GRID", (0, 0), (-1, -1), 0.25, colors.grey)])))
    story.append(Spacer(1, 5 * mm))
    columns = ("Nyckel", "Typ", "Kanal", "Registrerad av", "Tid", "Godkänd av", "Utfall", "Huvudserverns id",
               "Inskickad", "Avvikelse")
    data = [columns] + [(Paragraph(line.key, small), line.kind_label, line.channel_label, line.captured_by or "",
                         _time(line.captured_at), line.approved_by or "", line.outcome_label, line.server_id or "",
                         _time(line.registered_at), Paragraph(line.difference or "", small)) for line in report.lines]
    style = [("FONT", (0, 0), (-1, 0), FONT_BOLD, 7), ("FONT", (0, 1), (-1, -1), FONT, 7),
             ("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5"))]
    for index, line in enumerate(report.lines, start=1):
        if line.difference:
            style.append(("BACKGROUND", (0, index), (-1, index), colors.HexColor("#fde8e8")))
    story.append(Table(data, colWidths=(40 * mm, 22 * mm, 16 * mm, 30 * mm, 26 * mm, 30 * mm, 20 * mm, 26 * mm,
                                         26 * mm, 37 * mm), repeatRows=1, style=TableStyle(style)))
    doc.build(story)
    return buffer.getvalue()

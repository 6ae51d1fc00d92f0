"""The reconciliation report of an incident (avstämning): captured = registered + resolved + cancelled.

Every item captured under the incident is one line, followed through its chain of edits and
re-sends to where it ended: registered (with the main server's id), resolved (a conflict
linked or sent anew), cancelled, or not yet done, with the reason. Nothing is left out: an
item that is not settled is listed as a difference. Optionally the registered ones are
checked against the main server (/have), which lists any the server does not know.

Lines are named by reserve number and the main server's id and grouped by kind and unit;
the UUID key stays behind a trace link. No personal data: who captured it by user name.
The formats (HTML groups, CSV, PDF, text) are in sync/reconciliation_export.py.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select

from core.clock import utcnow
from core.errors import NotFound
from core.extensions import db
from core.models import PrescribingUnit, User
from status import readmodel
from sync.client import HttpMainServer, MainServer, TransportError
from sync.models import OutboxItem, SyncAudit
from sync.balance import OUTCOME_LABELS, OUTSTANDING, Balance, ChainLink, balance, chain_outcome
from sync.cards import payload_unit
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
    reserve_number: str | None = None  # the number on the paper form (hand-captured items)
    unit_number: str | None = None  # the unit's customer number, as the final version names it
    unit_name: str | None = None

    @property
    def unit_label(self) -> str:
        if self.unit_number is None:
            return "Ingen enhet angiven"
        return f"{self.unit_name} ({self.unit_number})" if self.unit_name else self.unit_number

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
    units = _unit_names({payload_unit(i.data) for i in items})
    lines = []
    for root in (i for i in items if i.supersedes_key is None or i.supersedes_key not in by_key):
        chain = _chain(root, by_key)
        links = [ChainLink(i.key, i.state, i.server_id, i.id in conflicted) for i in chain]
        outcome, why = chain_outcome(links)
        final = chain[-1]
        final_data = final.data
        approver = next((i for i in reversed(chain) if i.approved_by_id), None)
        lines.append(Line(
            key=root.key, kind=root.kind, channel=root.channel, captured_at=root.created_at,
            captured_by=names.get(root.created_by_id), approved_by=names.get(approver.approved_by_id) if approver else None,
            approved_at=approver.approved_at if approver else None, final_key=final.key, final_state=final.state,
            outcome=outcome, server_id=final.server_id, registered_at=final.registered_at,
            resolution=next((i.resolution for i in reversed(chain) if i.resolution), None), edits=len(chain) - 1,
            difference=why if outcome == OUTSTANDING else None,
            reserve_number=str(final_data["form_number"]) if final_data.get("form_number") else None,
            unit_number=payload_unit(final_data), unit_name=units.get(payload_unit(final_data))))
    verified, verify_error = False, None
    if server is not None:
        lines, verify_error = _verify(lines, server)
        verified = verify_error is None
    db.session.commit()
    return Report(incident_id=incident.id, incident_title=incident.title,
                  started_at=incident.started_at, resolved_at=incident.resolved_at, generated_at=now or utcnow(),
                  lines=tuple(lines), balance=balance(line.outcome for line in lines), verified=verified,
                  verify_error=verify_error)


def _unit_names(numbers: set[str | None]) -> dict[str, str]:
    numbers = {n for n in numbers if n}
    if not numbers:
        return {}
    return dict(db.session.execute(select(PrescribingUnit.customer_number, PrescribingUnit.name)
                                   .where(PrescribingUnit.customer_number.in_(numbers))).all())


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

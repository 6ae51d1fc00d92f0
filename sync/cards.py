"""What hms_staff read when they match the queue against phoned-in notes and paper forms.

An outbox item's frozen payload is the main server's contract, in English keys. Here it is
read back as a card in Swedish: reserve number, kind, patient, articles (number, name and
quantity), unit, channel, who captured it and the responsible prescriber, with the names
looked up in the local store. The patient is left out unless the caller may see patient data;
whoever shows a card with a patient logs the access (`Card.patient_id`).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from core.extensions import db
from core.models import Article, Patient, PrescribingUnit, User
from sync.models import OutboxItem
from sync.rules import CHANNEL_LABELS, KIND_LABELS, STATE_LABELS

# The payload's keys in Swedish, for the item page's labelled fields and the correction trace.
FIELD_LABELS = {
    "form_number": "Reservnummer", "channel": "Kanal", "captured_at": "Registrerad", "captured_by": "Registrerad av",
    "incident_id": "Händelse", "note": "Anteckning", "responsible_prescriber": "Ansvarig förskrivare",
    "prescriber": "Förskrivare", "possible_duplicate_of": "Möjlig dubblett av", "patient": "Patient",
    "personnummer": "Personnummer", "unit": "Enhet", "customer_number": "Kundnummer", "recipient": "Mottagare",
    "prescribed_on": "Förskrivningsdatum", "product_area": "Produktområde", "rows": "Rad", "ref": "Referens",
    "article": "Artikel", "packages_per_withdrawal": "Förpackningar per uttag", "withdrawals": "Antal uttag",
    "work_order_type": "Typ av arbetsorder", "description": "Beskrivning", "lines": "Rad", "quantity": "Antal",
    "from_warehouse": "Från lager", "to_warehouse": "Till lager", "number": "Förskrivningsnummer",
    "u_number": "Uttagsnummer", "packages": "Antal förpackningar", "prescription_key": "Gäller förskrivningen",
    "cancelled_at": "Makulerad", "cancelled_by": "Makulerad av", "reason": "Orsak", "username": "Användarnamn",
    "hsa_id": "HSA-id", "status": "Status", "id": "Id", "registered_at": "Registrerad hos huvudservern",
    "kind": "Typ", "payload": "Innehåll",
}


@dataclass(frozen=True)
class ArticleLine:
    number: str
    name: str | None  # None: not in the local catalogue
    quantity: str


@dataclass(frozen=True)
class Card:
    key: str
    kind: str
    kind_label: str
    state_label: str
    channel_label: str
    reserve_number: str | None
    captured_at: datetime
    captured_by: str | None
    prescriber: str | None
    unit: str | None  # "name (customer number)"
    articles: tuple[ArticleLine, ...]
    note: str | None
    possible_duplicate_of: str | None
    shows_patient: bool
    patient_id: int | None = None
    patient_name: str | None = None
    personnummer: str | None = None


def payload_personnummer(data: Mapping[str, Any]) -> str | None:
    patient = data.get("patient")
    return patient.get("personnummer") if isinstance(patient, dict) else None


def payload_unit(data: Mapping[str, Any]) -> str | None:
    """Return the customer number of the unit the item is for (or sent to), if it names one."""
    for holder in (data.get("unit"), data.get("recipient")):
        if isinstance(holder, dict) and (holder.get("customer_number") or holder.get("unit")):
            return str(holder.get("customer_number") or holder.get("unit"))
    return None


def payload_prescriber(data: Mapping[str, Any]) -> str | None:
    """Return the username or HSA id of the responsible prescriber (or the prescriber)."""
    who = data.get("responsible_prescriber") or data.get("prescriber")
    if isinstance(who, dict):
        return who.get("username") or who.get("hsa_id")
    return str(who) if who else None


def payload_articles(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return (article number, quantity in words) for every article the payload names."""
    found = []
    for row in data.get("rows") or ():
        if isinstance(row, dict) and row.get("article"):
            quantity = f"{row.get('packages_per_withdrawal', '?')} förp. × {row.get('withdrawals', 1)} uttag"
            found.append((str(row["article"]), quantity))
    for line in data.get("lines") or ():
        if isinstance(line, dict) and line.get("article"):
            found.append((str(line["article"]), f"{line.get('quantity', '?')} st"))
    if isinstance(data.get("article"), str):
        found.append((data["article"], f"{data['packages']} förp." if data.get("packages") else ""))
    return found


def cards_for(items: Sequence[OutboxItem], *, with_patients: bool) -> list[Card]:
    """Return one card per item, in order; names looked up once for them all."""
    datas = [item.data for item in items]
    articles = _names(Article.number, Article.name, {n for d in datas for n, _ in payload_articles(d)})
    units = _names(PrescribingUnit.customer_number, PrescribingUnit.name, {payload_unit(d) for d in datas})
    refs = {payload_prescriber(d) for d in datas} - {None}
    users = {}
    if refs:
        for user in db.session.scalars(select(User).where(or_(User.username.in_(refs), User.hsa_id.in_(refs)))):
            users[user.username] = users[user.hsa_id] = user.name
    patients = {}
    if with_patients:
        numbers = {payload_personnummer(d) for d in datas} - {None}
        patients = {p.personnummer: p for p in db.session.scalars(
            select(Patient).where(Patient.personnummer.in_(numbers)))} if numbers else {}
    creators = _names(User.id, User.name, {item.created_by_id for item in items})
    return [_card(item, data, articles, units, users, patients, creators, with_patients)
            for item, data in zip(items, datas, strict=True)]


def _names(key_column, name_column, keys: Iterable[Any]) -> dict:  # noqa: ANN001
    keys = {k for k in keys if k is not None}
    return dict(db.session.execute(select(key_column, name_column).where(key_column.in_(keys))).all()) if keys else {}


def _card(item: OutboxItem, data: dict, articles: dict, units: dict, users: dict, patients: dict, creators: dict,
          with_patients: bool) -> Card:
    unit, prescriber = payload_unit(data), payload_prescriber(data)
    card = Card(
        key=item.key, kind=item.kind, kind_label=KIND_LABELS[item.kind], state_label=STATE_LABELS[item.state],
        channel_label=CHANNEL_LABELS[item.channel], reserve_number=_text(data.get("form_number")),
        captured_at=item.created_at, captured_by=creators.get(item.created_by_id) or _text(data.get("captured_by")),
        prescriber=(f"{users[prescriber]} ({prescriber})" if prescriber in users else prescriber),
        unit=(f"{units[unit]} ({unit})" if unit in units else unit),
        articles=tuple(ArticleLine(number, articles.get(number), quantity)
                       for number, quantity in payload_articles(data)),
        note=_text(data.get("note") or data.get("description") or data.get("reason")),
        possible_duplicate_of=_text(data.get("possible_duplicate_of")), shows_patient=with_patients)
    number = payload_personnummer(data)
    if not with_patients or not number:
        return card
    patient = patients.get(number)
    return Card(**{**card.__dict__, "personnummer": number, "patient_id": patient.id if patient else None,
                   "patient_name": f"{patient.first_name} {patient.last_name}" if patient else None})


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def labelled_fields(data: Mapping[str, Any], *, with_patients: bool) -> list[tuple[str, str]]:
    """Return the payload as (Swedish label, value) pairs, nested parts flattened; patients left out unless shown."""
    pairs: list[tuple[str, str]] = []
    _flatten(data, "", pairs, with_patients)
    return pairs


def _flatten(value: Any, label: str, pairs: list[tuple[str, str]], with_patients: bool) -> None:
    if isinstance(value, dict):
        for key in sorted(value, key=_order):
            if key == "patient" and not with_patients:
                continue
            name = FIELD_LABELS.get(key, key.replace("_", " ").capitalize())
            _flatten(value[key], f"{label} – {name}" if label else name, pairs, with_patients)
    elif isinstance(value, list):
        for index, element in enumerate(value, start=1):
            _flatten(element, f"{label} {index}", pairs, with_patients)
    else:
        pairs.append((label, _plain(value)))


def _order(key: str) -> tuple[int, str]:
    first = ("form_number", "patient", "unit", "recipient", "rows", "lines", "article")
    return (first.index(key), key) if key in first else (len(first), key)


def _plain(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "ja" if value else "nej"
    return str(value)


def differences(before: Mapping[str, Any], after: Mapping[str, Any], *,
                with_patients: bool) -> list[tuple[str, str, str]]:
    """Return (label, before, after) for every labelled field a correction changed."""
    old = dict(labelled_fields(before, with_patients=with_patients))
    new = dict(labelled_fields(after, with_patients=with_patients))
    return [(label, old.get(label, "–"), new.get(label, "–"))
            for label in list(dict.fromkeys([*old, *new])) if old.get(label) != new.get(label)]

"""The printable kit (reservlåda): regenerated every hour while the main server is up, kept for
download while it is down.

Numbers for the blank forms are marked printed in one short write transaction; the lists are
read and the PDFs rendered with no write lock held; the finished kit is stored in another short
transaction, and older generations beyond RESERVE_KIT_KEEP are dropped.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.orm import joinedload, undefer

from core.privacy.access_log import AccessAction
from core.privacy.chokepoint import mark_displayed
from core.auth.roles import Permission
from core.clock import local_today
from core.errors import Forbidden, NotFound
from core.extensions import db
from core.models import ROW_ACTIVE, Patient, PrescribingUnit, Prescription, PrescriptionRow, User, user_units
from core.store import begin_write
from reserve import numbers, pdf
from reserve.models import Kit, KitDocument
from reserve.rules import WORK_ORDER_TYPES, format_reserve_number
from reserve.runbooks import RESERVE_ACTIVATED, Runbook
from reserve.state import current_state, data_as_of, main_server_out

ORDER_FORMS, WORK_ORDER_FORMS, UNIT_LIST, RUNBOOKS = "order_forms", "work_order_forms", "unit_list", "runbooks"
DEADLINE_TEXT = "Genast"


def latest_kit() -> Kit | None:
    return db.session.scalar(select(Kit).order_by(Kit.generated_at.desc(), Kit.id.desc()).limit(1)
                             .options(joinedload(Kit.documents).joinedload(KitDocument.unit)))


def refresh_if_due(now: datetime) -> Kit | None:
    """Regenerate the kit if the last one is older than the interval and the main server is up."""
    state = current_state()
    last = db.session.scalar(select(func.max(Kit.generated_at)))
    db.session.commit()
    if main_server_out(state):
        return None  # keep the kit made while the data was fresh
    interval = timedelta(seconds=float(current_app.config["RESERVE_KIT_INTERVAL_SECONDS"]))
    if last is not None and now - last < interval:
        return None
    return generate(now)


def _deadline_text(runbook: Runbook, step) -> str:  # noqa: ANN001
    if step.deadline is None:
        return "Löpande"
    if not step.deadline:
        return DEADLINE_TEXT
    hours, minutes = divmod(int(step.deadline.total_seconds() // 60), 60)
    text = (f"{hours} h " if hours else "") + (f"{minutes} min" if minutes else "")
    return text.strip() + (" efter aktivering" if runbook.relative_to == RESERVE_ACTIVATED else "")


def runbook_sheets(runbooks: dict[str, Runbook]) -> list[pdf.RunbookSheet]:
    return [pdf.RunbookSheet(title=r.title, source=r.source, summary=r.summary, callers=r.callers,
                             steps=tuple((s.title, s.role_label, _deadline_text(r, s), s.record) for s in r.steps),
                             timed_from="att reservrutinen aktiverades" if r.relative_to == RESERVE_ACTIVATED
                             else "störningens början")
            for r in runbooks.values()]


def _unit_rows(today) -> dict[int, list[pdf.UnitListRow]]:  # noqa: ANN001
    rows = db.session.execute(
        select(PrescriptionRow, Prescription.unit_id, Prescription.number, Patient.first_name, Patient.last_name,
               Patient.personnummer, Patient.id)
        .join(Prescription, Prescription.id == PrescriptionRow.prescription_id)
        .join(Patient, Patient.id == PrescriptionRow.patient_id)
        .where(PrescriptionRow.status == ROW_ACTIVE, PrescriptionRow.valid_until >= today)
        .options(joinedload(PrescriptionRow.article))
        .order_by(Prescription.unit_id, Patient.last_name, Patient.first_name, Patient.id, PrescriptionRow.id))
    by_unit: dict[int, list[tuple[int, pdf.UnitListRow]]] = {}
    for row, unit_id, number, first, last, personnummer, patient_id in rows:
        by_unit.setdefault(unit_id, []).append((patient_id, pdf.UnitListRow(
            patient_name=f"{last}, {first}", personnummer=personnummer, article_number=row.article.number,
            article_name=row.article.name, packages_per_withdrawal=row.packages_per_withdrawal,
            withdrawals_left=row.withdrawals_left, withdrawals=row.withdrawals, valid_until=row.valid_until,
            prescription_number=str(number))))
    return by_unit  # type: ignore[return-value]


def generate(now: datetime, actor: User | None = None) -> Kit:
    """Build and store a new kit; return it."""
    config = current_app.config
    count = int(config["RESERVE_KIT_FORMS"])
    begin_write()
    numbers.ensure_pool(now)
    printed = [format_reserve_number(n) for n in numbers.print_numbers(2 * count, now)]
    db.session.commit()
    header = pdf.KitHeader(config["SYSTEM_NAME"], now, data_as_of())
    documents = [
        KitDocument(kind=ORDER_FORMS, title=f"Beställningsblanketter ({printed[0]}–{printed[count - 1]})",
                    filename="bestallningsblanketter.pdf", content=pdf.render_order_forms(printed[:count], header)),
        KitDocument(kind=WORK_ORDER_FORMS, title=f"Arbetsorderblanketter ({printed[count]}–{printed[-1]})",
                    filename="arbetsorderblanketter.pdf",
                    content=pdf.render_work_order_forms(printed[count:], header, list(WORK_ORDER_TYPES.values()))),
        KitDocument(kind=RUNBOOKS, title="Checklistor för varje scenario (en sida per scenario)",
                    filename="checklistor.pdf",
                    content=pdf.render_runbook_sheets(runbook_sheets(current_app.extensions["reserve.runbooks"]),
                                                      header)),
    ]
    units = {u.id: u for u in db.session.scalars(select(PrescribingUnit))}
    for unit_id, entries in _unit_rows(local_today()).items():
        unit = units[unit_id]
        patient_ids = sorted({patient_id for patient_id, _ in entries})
        documents.append(KitDocument(
            kind=UNIT_LIST, unit_id=unit.id, title=f"Aktiva rader – {unit.name}", personal_data=True,
            filename=f"aktiva-rader-{unit.customer_number}.pdf", patient_count=len(patient_ids),
            patient_ids=json.dumps(patient_ids),
            content=pdf.render_unit_list(unit.name, unit.customer_number, [row for _, row in entries], header)))
    db.session.commit()  # end the read before the write
    begin_write()
    kit = Kit(generated_at=now, data_as_of=header.data_as_of, generated_by_id=actor.id if actor else None)
    for document in documents:
        document.size = len(document.content)
        kit.documents.append(document)
    db.session.add(kit)
    db.session.flush()
    keep = [k for k in db.session.scalars(select(Kit.id).order_by(Kit.generated_at.desc(), Kit.id.desc())
                                          .limit(int(config["RESERVE_KIT_KEEP"])))]
    db.session.execute(delete(KitDocument).where(KitDocument.kit_id.not_in(keep)))
    db.session.execute(delete(Kit).where(Kit.id.not_in(keep)))
    db.session.commit()
    return kit


def may_download(user: User, document: KitDocument) -> bool:
    """Blank forms and runbooks: those who work the routine. Unit lists: those who may read patient
    data and work the routine, and prescribers for the units they have a customer relation to."""
    if not document.personal_data:
        return user.can(Permission.VIEW_RESERVE_ROUTINE) or user.can(Permission.PRESCRIBE)
    if not user.can(Permission.READ_PATIENTS):
        return False
    if user.can(Permission.VIEW_RESERVE_ROUTINE):
        return True
    return db.session.scalar(select(user_units.c.unit_id).where(
        user_units.c.user_id == user.id, user_units.c.unit_id == document.unit_id)) is not None


def visible_documents(user: User, kit: Kit | None) -> list[KitDocument]:
    if kit is None:
        return []
    return [d for d in kit.documents if may_download(user, d)]


def download(user: User, document_id: int) -> KitDocument:
    """Return a kit document for download; a unit list is written to the access log per patient."""
    document = db.session.get(KitDocument, document_id, options=[undefer(KitDocument.content)])
    if document is None:
        raise NotFound("Dokumentet finns inte längre; hämta det senaste från reservlådan.")
    if not may_download(user, document):
        raise Forbidden("Du saknar behörighet till dokumentet.")
    if document.personal_data and document.patient_ids:
        mark_displayed(user.id, json.loads(document.patient_ids), AccessAction.OVERVIEW, "reserve.kit")
    return document


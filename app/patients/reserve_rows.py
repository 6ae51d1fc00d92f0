"""Acute prescriptions captured in the reserve routine, as the patient's overview shows them.

Before the main server has registered one it is a pending row, marked with its reserve number and
"väntar på registrering"; once registered it is an ordinary row of its local prescription
(app/prescribing/reserve_registration.py), still linked to its reserve item for the trace.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from core.clock import to_local
from core.extensions import db
from core.models import Article
from reserve.models import ReserveItem
from reserve.rules import CAPTURED, PRESCRIPTION

PENDING = "Väntar på registrering"


@dataclass(frozen=True)
class PendingRow:
    """A captured acute prescription not yet registered, shaped like a prescription row for the table."""

    item: ReserveItem
    id = None  # nothing to copy, correct or cancel before the main server has it
    withdrawals = 1
    withdrawals_left = 1
    recommendation = None

    @property
    def reserve_item(self) -> ReserveItem:
        return self.item

    @property
    def prescription(self) -> SimpleNamespace:
        # number: the reserve number, so the table sorts it among the prescription numbers
        return SimpleNamespace(number=self.item.number, prescribed_on=self.captured_on,
                               prescriber=self.item.responsible_prescriber)

    @property
    def article(self) -> Article:
        return self.item.article

    @property
    def packages_per_withdrawal(self) -> int:
        return self.item.packages or 0

    @property
    def captured_on(self) -> date:
        return to_local(self.item.captured_at).date()

    @property
    def valid_until(self) -> date:
        return self.captured_on  # unknown until registered; sorts with the day it was captured

    def display_status(self, today: date) -> str:
        return PENDING


def captured_prescriptions(patient_id: int, area_ids: set[int]) -> tuple[list[PendingRow], dict[int, ReserveItem]]:
    """Return the patient's captured acute prescriptions: pending rows, and registered ones by local prescription."""
    items = db.session.scalars(
        select(ReserveItem).join(ReserveItem.article)
        .where(ReserveItem.patient_id == patient_id, ReserveItem.kind == PRESCRIPTION,
               ReserveItem.status == CAPTURED, Article.product_area_id.in_(area_ids))
        .options(joinedload(ReserveItem.article), joinedload(ReserveItem.responsible_prescriber))
        .order_by(ReserveItem.captured_at.desc())).all()
    pending = [PendingRow(item) for item in items if item.prescription_id is None]
    registered = {item.prescription_id: item for item in items if item.prescription_id is not None}
    return pending, registered

"""The prescription being written, kept in the user's session until it is saved."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from app.prescribing.services import PrescriptionInput, RowInput

SESSION_KEY = "prescription_draft"


@dataclass
class Draft:
    patient_id: int
    area_code: str | None = None
    unit_id: int | None = None
    rows: list[RowInput] = field(default_factory=list)

    @classmethod
    def load(cls, session: dict, patient_id: int) -> Draft:
        """Return the session's draft for this patient, or a fresh one."""
        data: dict[str, Any] | None = session.get(SESSION_KEY)
        if not data or data.get("patient_id") != patient_id:
            return cls(patient_id)
        return cls(patient_id, data.get("area_code"), data.get("unit_id"),
                   [RowInput(**row) for row in data.get("rows", [])])

    def save(self, session: dict) -> None:
        session[SESSION_KEY] = {
            "patient_id": self.patient_id, "area_code": self.area_code, "unit_id": self.unit_id,
            "rows": [asdict(row) for row in self.rows],
        }

    @staticmethod
    def discard(session: dict) -> None:
        session.pop(SESSION_KEY, None)

    def choose_area(self, code: str) -> None:
        if code != self.area_code:
            self.area_code, self.unit_id, self.rows = code, None, []

    def add_row(self, row: RowInput) -> None:
        """Add the row, replacing an earlier row for the same article (the edit before saving)."""
        kept = [r for r in self.rows if r.article_id != row.article_id]
        previous = next((r for r in self.rows if r.article_id == row.article_id), None)
        if previous and previous.copied_from_id and not row.copied_from_id:
            row = replace(row, copied_from_id=previous.copied_from_id)
        self.rows = [*kept, row]

    def remove_row(self, article_id: int) -> None:
        self.rows = [r for r in self.rows if r.article_id != article_id]

    def as_input(self) -> PrescriptionInput:
        return PrescriptionInput(self.patient_id, self.area_code or "", self.unit_id or 0, tuple(self.rows))

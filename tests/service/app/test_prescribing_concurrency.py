"""Only one active row per patient and article, also when two saves race on real connections."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from core.auth.roles import Role
from core.extensions import db
from core.models import PrescriptionRow, User
from app.prescribing.services import PrescriptionInput, RowConflict, RowInput, create_prescription
from tests import factories


def test_two_concurrent_saves_of_the_same_article_leave_exactly_one_active_row(committed_app):
    with committed_app.app_context():
        unit = factories.unit(payer_areas=("inkontinens",))
        prescriber_id = factories.user("karin", roles=(Role.PRESCRIBER,), areas=("inkontinens",), units=(unit,)).id
        patient_id = factories.patient().id
        data = PrescriptionInput(patient_id, "inkontinens", unit.id,
                                 (RowInput(article_id=factories.article().id, withdrawals=4, packages_per_withdrawal=2),))
    start = threading.Barrier(2, timeout=10)
    outcomes: list[str] = []

    def save() -> None:
        with committed_app.app_context():
            actor = db.session.get(User, prescriber_id)
            start.wait()
            try:
                create_prescription(actor, data)
                outcomes.append("saved")
            except RowConflict:
                outcomes.append("conflict")

    threads = [threading.Thread(target=save) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["conflict", "saved"]
    with committed_app.app_context():
        active = db.session.scalar(select(func.count()).select_from(PrescriptionRow).where(
            PrescriptionRow.patient_id == patient_id, PrescriptionRow.status == "active"))
    assert active == 1

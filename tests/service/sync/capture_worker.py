"""Save prescriptions through the prescribing service in a process of its own (for the kill-point tests).

    python -m tests.sync.capture_worker COUNT FIRST

Uses the store in $DATABASE_URL, which must hold the prescriber `karin` (authorised for
incontinence at one unit) and the articles numbered 310001.. (one per prescription). Each
prescription is for patient number FIRST + i, so every save is independent.
"""
from __future__ import annotations

import sys

from sqlalchemy import select


def main(count: int, first: int) -> None:
    from app import create_app
    from core.extensions import db
    from core.models import Article, Patient, User
    from app.prescribing.services import PrescriptionInput, RowInput, create_prescription

    app = create_app()
    with app.app_context():
        karin = db.session.scalar(select(User).where(User.username == "karin"))
        unit_id = karin.units[0].id
        article_id = db.session.scalar(select(Article.id).where(Article.number == "310001"))
        patients = list(db.session.scalars(select(Patient.id).order_by(Patient.id)))
        db.session.commit()
        for n in range(first, first + count):
            create_prescription(karin, PrescriptionInput(patients[n], "inkontinens", unit_id, (
                RowInput(article_id=article_id, withdrawals=4, packages_per_withdrawal=2),)))
            print(f"saved {n}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))

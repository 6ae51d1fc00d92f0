"""The demo data agrees with the main server: an ordinary demo day has no conflict."""
from __future__ import annotations

from sqlalchemy import select

from app.demo.seed import seed_demo
from app.demo.withdrawals import seed_demo_withdrawals
from app.withdrawals.rules import Channel
from app.withdrawals.services import create_withdrawal, send_withdrawal
from core.extensions import db
from core.models import PrescriptionRow, User
from tests.service.sync.conftest import drain, items


def test_a_withdrawal_sent_from_a_demo_row_is_registered_without_conflict(sync_app, main_server):
    with sync_app.app_context():
        seed_demo(20, seed=3)
        rows, _ = seed_demo_withdrawals(5, seed=3)
        db.session.remove()
    drain(sync_app)  # what `flask monitor` does at once in `make run`
    assert {item.kind for item in items(sync_app)} == {"prescription"} and len(items(sync_app)) == 5
    with sync_app.app_context():
        prescriber = db.session.scalar(select(User).where(User.username == "prescriber"))
        row = db.session.scalar(select(PrescriptionRow).where(PrescriptionRow.status == "active")
                                .where(PrescriptionRow.withdrawals_used < PrescriptionRow.withdrawals)
                                .order_by(PrescriptionRow.id).limit(1))
        withdrawal = create_withdrawal(prescriber, row.id, 1, Channel.PRESCRIBER)
        send_withdrawal(prescriber, f"U{withdrawal.number:09d}")
        db.session.remove()
    drain(sync_app)
    assert [(item.kind, item.state) for item in items(sync_app) if item.kind == "withdrawal"] == [("withdrawal", "acked")]
    assert {item.state for item in items(sync_app)} == {"acked"}  # no conflict anywhere

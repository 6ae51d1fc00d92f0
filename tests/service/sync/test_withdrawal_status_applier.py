"""Withdrawal statuses pulled from the main server move the local withdrawals forward, never back."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core.auth.roles import Role
from core.extensions import db
from core.models import ROW_ACTIVE, ROW_DELIVERED, PrescriptionRow
from core.store import begin_write
from app.withdrawals.models import Withdrawal
from app.withdrawals.rules import Channel
from app.withdrawals.services import apply_main_server_status, create_withdrawal, send_withdrawal
from sync import pull
from tests import factories
from tests.service.sync.conftest import drain, prescribe, reload, settings_for

DELIVERED_AT = datetime(2026, 11, 23, 14, 30)


def sent_withdrawal(world: dict, packages: int = 2) -> Withdrawal:
    withdrawal = create_withdrawal(world["karin"], world["row"].id, packages, Channel.PRESCRIBER)
    return send_withdrawal(world["karin"], withdrawal.u_number)


def apply(u_number: str, status: str) -> bool:
    """Apply as the pull does: inside its write transaction, committed by it."""
    begin_write()
    moved = apply_main_server_status(u_number, status, DELIVERED_AT)
    db.session.commit()
    return moved


def reloaded(withdrawal: Withdrawal) -> Withdrawal:
    return db.session.get(Withdrawal, withdrawal.id, populate_existing=True)


def one_withdrawal_row() -> dict:
    unit = factories.unit(payer_areas=("inkontinens",))
    karin = factories.user("karin", roles=(Role.PRESCRIBER,), areas=("inkontinens",), units=(unit,))
    row = factories.prescription_row(factories.patient(), factories.article(), karin, unit=unit, withdrawals=1)
    return {"karin": karin, "row": row}


def test_a_delivery_reported_by_the_main_server_closes_the_row_like_a_local_one(ctx):
    world = one_withdrawal_row()
    withdrawal = sent_withdrawal(world)
    assert apply(withdrawal.u_number, "delivered") is True
    assert (reloaded(withdrawal).status, reloaded(withdrawal).delivered_at) == ("delivered", DELIVERED_AT)
    assert db.session.get(PrescriptionRow, world["row"].id, populate_existing=True).status == ROW_DELIVERED


def test_statuses_that_are_no_step_forward_or_unknown_are_passed_over(ctx):
    world = one_withdrawal_row()
    new = create_withdrawal(world["karin"], world["row"].id, 1, Channel.PRESCRIBER)
    assert apply(new.u_number, "delivered") is False  # Ny → Levererad is no step the portal knows
    assert apply("U999999999", "delivered") is False
    assert apply(new.u_number, "lost") is False and apply("nonsense", "sent") is False
    sent = send_withdrawal(world["karin"], new.u_number)
    assert apply(sent.u_number, "sent") is False and apply(sent.u_number, "aborted") is False
    assert reloaded(sent).status == "sent"
    assert db.session.get(PrescriptionRow, world["row"].id, populate_existing=True).status == ROW_ACTIVE


def test_a_pulled_delivery_reaches_the_local_withdrawal(sync_app, main_server, committed_world):
    with sync_app.app_context():
        world = reload(committed_world)
        world["row"] = prescribe(world).rows[0]
        withdrawal = sent_withdrawal(world)
        u_number = withdrawal.u_number
        db.session.remove()
    drain(sync_app)  # the prescription, then the withdrawal, registered at the main server
    main_server.admin("POST", f"/admin/withdrawals/{u_number}", {"status": "delivered"})
    with sync_app.app_context():
        report = pull.pull_once(settings=settings_for(sync_app))
        assert report.withdrawals >= 1 and report.error is None
        local = db.session.scalar(select(Withdrawal).where(Withdrawal.number == int(u_number[1:])))
        assert local.status == "delivered" and local.delivered_at is not None
        db.session.remove()

"""Concurrent withdrawals and stock moves on real connections: never more than there is."""
from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import func, select

from core.auth.roles import Role
from core.clock import local_today
from core.extensions import db
from core.models import PrescriptionRow, User
from app.withdrawals.models import StockLevel, Withdrawal
from app.withdrawals.order_services import LineInput, OrderInput, StockShort, create_order
from app.withdrawals.rules import Channel
from app.withdrawals.services import NoWithdrawalsLeft, create_withdrawal
from tests import factories
from tests.service.withdrawals.conftest import set_stock, warehouse


def race(app, actor_id: int, action: Callable[[User], None], refused: type[Exception]) -> list[str]:
    """Run the action in two threads released together; return their outcomes."""
    start = threading.Barrier(2, timeout=10)
    outcomes: list[str] = []

    def attempt() -> None:
        with app.app_context():
            actor = db.session.get(User, actor_id)
            start.wait()
            try:
                action(actor)
                outcomes.append("done")
            except refused:
                outcomes.append("refused")

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(outcomes)


def test_two_concurrent_withdrawals_for_the_last_one_left_exactly_one_succeeds(committed_app):
    with committed_app.app_context():
        unit = factories.unit()
        karin = factories.user("karin", roles=(Role.PRESCRIBER,), units=(unit,))
        maria_id = factories.user("maria", roles=(Role.CUSTOMER_SERVICE,)).id
        row_id = factories.prescription_row(factories.patient(), factories.article(), karin, unit=unit,
                                            prescribed_on=local_today(), withdrawals=4, withdrawals_used=3).id

    outcomes = race(committed_app, maria_id,
                    lambda actor: create_withdrawal(actor, row_id, 2, Channel.CUSTOMER_SERVICE), NoWithdrawalsLeft)

    assert outcomes == ["done", "refused"]
    with committed_app.app_context():
        assert db.session.get(PrescriptionRow, row_id).withdrawals_used == 4
        assert db.session.scalar(select(func.count()).select_from(Withdrawal)) == 1


def test_two_concurrent_stock_moves_that_together_exceed_warehouse_10_move_once(committed_app):
    with committed_app.app_context():
        municipal = factories.unit()
        central, eslov = warehouse(10, "central", "HMS"), warehouse(101, "municipal", "Eslöv", municipal)
        pads = factories.article(number="310001")
        set_stock(central, pads, 15)
        johan_id = factories.user("johan", roles=(Role.HMS_STAFF,)).id
    move = OrderInput(type="stock_move", from_warehouse=10, to_warehouse=101, lines=(LineInput("310001", 10),))

    outcomes = race(committed_app, johan_id, lambda actor: create_order(actor, move), StockShort)

    assert outcomes == ["done", "refused"]
    with committed_app.app_context():
        levels = dict(db.session.execute(select(StockLevel.warehouse_id, StockLevel.quantity)).all())
        assert levels == {central.id: 5, eslov.id: 10}

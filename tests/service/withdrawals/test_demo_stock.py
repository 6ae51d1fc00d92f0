"""The demo's stock levels and withdrawal history keep the same rules as the live use cases."""
from __future__ import annotations

import random
from datetime import date, datetime

from freezegun import freeze_time
from sqlalchemy import func, select

from app.demo.seed import seed_demo
from app.demo.stock import seed_stock
from app.demo.withdrawals import history_for_row, seed_demo_withdrawals
from core.extensions import db
from core.models import PrescriptionRow, Warehouse
from app.withdrawals.models import StockLevel, Withdrawal

ROW = {"id": 1, "patient_id": 2, "article_id": 3, "unit_id": 4, "packages_per_withdrawal": 3, "period_days": 90,
       "withdrawals": 4}


def test_a_row_prescribed_a_year_ago_has_all_four_withdrawals_delivered_and_is_closed():
    numbers = iter(range(100_000_001, 100_000_100))
    history = history_for_row({**ROW, "prescribed_on": date(2025, 11, 1)}, random.Random(3),
                              datetime(2026, 11, 21, 12), lambda: next(numbers), user_id=9)
    taken = [w for w in history.withdrawals if w["status"] != "aborted"]
    assert len(taken) == history.withdrawals_used == 4
    assert all(w["status"] == "delivered" and w["delivered_at"] > w["ordered_at"] for w in taken)
    assert history.status == "delivered" and history.closed_at == max(w["delivered_at"] for w in taken)
    assert all(1 <= w["packages"] <= 3 for w in history.withdrawals)


def test_a_withdrawal_ordered_today_is_new_and_keeps_the_row_active():
    numbers = iter(range(100_000_001, 100_000_100))
    history = history_for_row({**ROW, "prescribed_on": date(2026, 11, 21)}, random.Random(1),
                              datetime(2026, 11, 21, 20), lambda: next(numbers), user_id=9)
    assert [w["status"] for w in history.withdrawals if w["status"] != "aborted"] == ["new"]
    assert history.status == "active" and history.withdrawals_used == 1


@freeze_time("2026-11-21 12:00")
def test_seeded_demo_history_and_stock_are_consistent_and_seeding_twice_adds_nothing(app, ctx):
    seed_demo(60, seed=5)
    levels = seed_stock(seed=5)
    rows, withdrawals = seed_demo_withdrawals(40, seed=5)
    assert levels > 2000 and rows >= 40 and withdrawals > rows
    for row in db.session.scalars(select(PrescriptionRow)):
        statuses = list(db.session.scalars(select(Withdrawal.status).where(Withdrawal.row_id == row.id)))
        assert row.withdrawals_used == len([s for s in statuses if s != "aborted"])
        assert (row.status == "delivered") == (row.withdrawals_used == row.withdrawals and
                                               all(s in ("delivered", "aborted") for s in statuses))
    assert db.session.scalar(select(func.min(StockLevel.quantity))) >= 0
    central = db.session.scalar(select(Warehouse.id).where(Warehouse.number == 10))
    assert db.session.scalar(select(func.count()).select_from(StockLevel).where(StockLevel.warehouse_id == central))
    assert seed_stock(seed=5) == 0 and seed_demo_withdrawals(40, seed=5) == (0, 0)


def test_the_cli_reports_what_it_added(app, ctx):
    seed_demo(5, seed=5)
    result = app.test_cli_runner().invoke(args=["seed-demo-stock", "--withdrawal-patients", "3"])
    assert result.exit_code == 0, result.output
    rows = db.session.scalar(select(func.count()).select_from(PrescriptionRow))
    assert f"{rows} prescription rows" in result.output and rows >= 3

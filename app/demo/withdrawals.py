"""Demo prescriptions with a withdrawal history, so the Uttag screens have something to show.

`history_for_row()` is plain: the bench uses it to build millions of withdrawals the same way.
Call `seed_demo_withdrawals()` inside an app context after `seed_demo()` (the CLI:
`flask seed-demo-stock --withdrawal-patients 300`).
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import exists, select

from core.clock import utcnow
from app.demo.seed import DEFAULT_SEED
from core.extensions import db
from core.models import (
    Article, Patient, Prescription, PrescriptionRow, UnitPayer, User, user_product_areas, user_units,
)
from core.numbering import next_number
from app.prescribing.quantity import prescription_expires_on
from core.store import begin_write
from app.withdrawals.models import Withdrawal
from app.withdrawals.rules import Channel, WithdrawalStatus
from app.prescribing.outbox import prescription_registration
from sync.registration import register

PERIOD_DAYS, WITHDRAWALS = 90, 4
CHANNELS = (Channel.CUSTOMER_SERVICE.value, Channel.CUSTOMER_SERVICE.value, Channel.E_SERVICE.value,
            Channel.PRESCRIBER.value)


@dataclass(frozen=True)
class RowHistory:
    withdrawals: list[dict]
    withdrawals_used: int
    status: str  # the row's: active, or delivered when every withdrawal has been delivered
    closed_at: datetime | None


def history_for_row(row: dict, rng: random.Random, now: datetime, numbers: Callable[[], int],
                    user_id: int) -> RowHistory:
    """Return the withdrawals a row prescribed on row["prescribed_on"] has had by `now`, one per period.

    Older withdrawals are delivered; one ordered in the last days is new or sent; now and then a
    withdrawal was aborted (it gave its withdrawal back). `numbers()` gives the next 9 digits.
    """
    made: list[dict] = []
    used = 0
    start = datetime.combine(row["prescribed_on"], time(8)) + timedelta(minutes=rng.randrange(9 * 60))
    for k in range(row["withdrawals"]):
        ordered = start + timedelta(days=k * row["period_days"], minutes=rng.randrange(240))
        if ordered > now:
            break
        age = now - ordered
        if rng.random() < 0.03:  # aborted, then ordered again
            made.append(_withdrawal(row, numbers(), ordered, WithdrawalStatus.ABORTED, rng, user_id))
            ordered += timedelta(minutes=30)
        status = (WithdrawalStatus.NEW if age < timedelta(days=2) else
                  WithdrawalStatus.SENT if age < timedelta(days=6) else WithdrawalStatus.DELIVERED)
        made.append(_withdrawal(row, numbers(), ordered, status, rng, user_id))
        used += 1
    delivered = [w for w in made if w["status"] == WithdrawalStatus.DELIVERED.value]
    if used == row["withdrawals"] and len(delivered) == used:
        return RowHistory(made, used, "delivered", max(w["delivered_at"] for w in delivered))
    return RowHistory(made, used, "active", None)


def _withdrawal(row: dict, number: int, ordered: datetime, status: WithdrawalStatus, rng: random.Random,
                user_id: int) -> dict:
    sent = ordered + timedelta(hours=rng.randint(1, 20)) if status in (
        WithdrawalStatus.SENT, WithdrawalStatus.DELIVERED) else None
    return {
        "number": number, "row_id": row["id"], "patient_id": row["patient_id"], "article_id": row["article_id"],
        "unit_id": row["unit_id"], "packages": rng.randint(1, row["packages_per_withdrawal"]),
        "status": status.value, "channel": rng.choice(CHANNELS), "created_by_id": user_id, "ordered_at": ordered,
        "sent_at": sent, "sent_by_id": user_id if sent else None,
        "delivered_at": sent + timedelta(days=rng.randint(1, 4)) if status is WithdrawalStatus.DELIVERED else None,
        "delivered_by_id": user_id if status is WithdrawalStatus.DELIVERED else None,
        "aborted_at": ordered + timedelta(minutes=10) if status is WithdrawalStatus.ABORTED else None,
        "aborted_by_id": user_id if status is WithdrawalStatus.ABORTED else None,
    }


def _prescribable(prescriber_id: int) -> tuple[list[int], dict[int, list[int]], dict[int, list[int]]]:
    """Return the prescriber's product areas, and per area the units with a payer and the active articles."""
    areas = list(db.session.scalars(select(user_product_areas.c.product_area_id)
                                    .where(user_product_areas.c.user_id == prescriber_id)))
    units: dict[int, list[int]] = {}
    for unit_id, area_id in db.session.execute(
            select(UnitPayer.unit_id, UnitPayer.product_area_id)
            .join(user_units, user_units.c.unit_id == UnitPayer.unit_id)
            .where(user_units.c.user_id == prescriber_id, UnitPayer.product_area_id.in_(areas))):
        units.setdefault(area_id, []).append(unit_id)
    articles: dict[int, list[int]] = {}
    for article_id, area_id in db.session.execute(select(Article.id, Article.product_area_id)
                                                  .where(Article.is_active.is_(True), Article.product_area_id.in_(areas))):
        articles.setdefault(area_id, []).append(article_id)
    return areas, units, articles


def seed_demo_withdrawals(patients: int = 300, seed: int = DEFAULT_SEED, today: date | None = None) -> tuple[int, int]:
    """Prescribe to the first patients as the demo prescriber, with their withdrawal history.

    Skipped (0, 0) when the store already has withdrawals or has no demo prescriber; returns
    (prescription rows, withdrawals) created.
    """
    begin_write()
    prescriber = db.session.scalar(select(User).where(User.username == "prescriber"))
    if prescriber is None or db.session.scalar(select(exists().where(Withdrawal.id.isnot(None)))):
        db.session.rollback()
        return 0, 0
    rng = random.Random(f"{seed}:withdrawals")
    now = utcnow()
    today = today or now.date()
    areas, units, articles = _prescribable(prescriber.id)
    patient_ids = list(db.session.scalars(select(Patient.id).order_by(Patient.id).limit(patients)))
    rows_made = withdrawals_made = 0
    for patient_id in patient_ids:
        area = rng.choice([a for a in areas if units.get(a) and articles.get(a)])
        prescribed_on = today - timedelta(days=rng.randrange(2, 365))
        prescription = Prescription(number=next_number("prescription"), patient_id=patient_id,
                                    prescriber_id=prescriber.id, unit_id=rng.choice(units[area]),
                                    product_area_id=area, prescribed_on=prescribed_on)
        for article_id in rng.sample(articles[area], rng.randint(1, 2)):
            prescription.rows.append(PrescriptionRow(
                patient_id=patient_id, article_id=article_id, packages_per_withdrawal=rng.randint(1, 6),
                period_days=PERIOD_DAYS, withdrawals=WITHDRAWALS, withdrawals_used=0,
                valid_until=prescription_expires_on(prescribed_on), status="active"))
        db.session.add(prescription)
        db.session.flush()
        for row in prescription.rows:
            spec = {"id": row.id, "patient_id": patient_id, "article_id": row.article_id,
                    "unit_id": prescription.unit_id, "packages_per_withdrawal": row.packages_per_withdrawal,
                    "period_days": row.period_days, "withdrawals": row.withdrawals, "prescribed_on": prescribed_on}
            history = history_for_row(spec, rng, now, lambda: next_number("withdrawal"), prescriber.id)
            row.withdrawals_used, row.status, row.closed_at = history.withdrawals_used, history.status, history.closed_at
            db.session.add_all(Withdrawal(**w) for w in history.withdrawals)
            rows_made += 1
            withdrawals_made += len(history.withdrawals)
        # The main server learns of the demo prescriptions as of any other (the outbox), so a withdrawal
        # sent from a demo row finds its row there and an ordinary demo day has no conflict.
        register(prescription_registration(prescription, now), now=now)
    db.session.commit()
    return rows_made, withdrawals_made

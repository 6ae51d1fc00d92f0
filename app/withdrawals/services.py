"""Withdrawal (uttag) use cases that write: create, send, abort, deliver. One function per use case.

Every write happens here, so the sync engine can add its outbox entry in one place (the reads
are in queries.py).

"Left" on a row: each withdrawal uses one of the row's withdrawals and at most its packages per
withdrawal, so packages left = withdrawals left × packages per withdrawal (see rules.py).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import exists, select, update
from sqlalchemy.orm import joinedload

from core.auth.roles import Permission
from core.clock import local_today, utcnow
from core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from core.extensions import db
from core.models import ROW_ACTIVE, ROW_CANCELLED, ROW_DELIVERED, PrescriptionRow, User
from core.numbering import next_number
from core.store import begin_write
from app.withdrawals.models import Withdrawal
from app.withdrawals.rules import (
    Channel, RowAllowance, WithdrawalStatus, can_move, format_u_number, packages_problem, parse_u_number,
    refused_transition_message,
)
from app.withdrawals import outbox


class NoWithdrawalsLeft(DomainError):
    """The row has no withdrawals left (taken by now, possibly by a concurrent request)."""


# ---------------------------------------------------------------- writes


def create_withdrawal(actor: User, row_id: int, packages: int, channel: Channel,
                      today: date | None = None) -> Withdrawal:
    """Create a withdrawal (status Ny) from an active row and return it with its U-number.

    The row's withdrawal is taken with one conditional UPDATE that must touch exactly one row,
    so two concurrent withdrawals never take more than the row has left, on SQLite and PostgreSQL.
    """
    if not actor.can(Permission.CREATE_WITHDRAWALS):
        raise Forbidden("Du har inte behörighet att skapa uttag.")
    today = today or local_today()
    begin_write()
    row = db.session.get(PrescriptionRow, row_id, options=[joinedload(PrescriptionRow.prescription)])
    if row is None:
        raise ValidationFailed.single("row_id", "Förskrivningsraden finns inte.")
    if not row.is_active_on(today):
        raise DomainError(f"Förskrivningsraden är avslutad ({row.display_status(today)}); inga uttag kan göras.",
                          field="row_id")
    allowance = RowAllowance(row.packages_per_withdrawal, row.withdrawals, row.withdrawals_used)
    if allowance.withdrawals_left <= 0:
        raise NoWithdrawalsLeft("Förskrivningsraden har inga uttag kvar.", field="row_id")
    problem = packages_problem(allowance, packages)
    if problem:
        raise ValidationFailed.single("packages", problem)
    taken = db.session.execute(
        update(PrescriptionRow)
        .where(PrescriptionRow.id == row.id, PrescriptionRow.status == ROW_ACTIVE,
               PrescriptionRow.valid_until >= today, PrescriptionRow.withdrawals_used < PrescriptionRow.withdrawals)
        .values(withdrawals_used=PrescriptionRow.withdrawals_used + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        db.session.rollback()
        raise NoWithdrawalsLeft("Förskrivningsraden har inga uttag kvar.", field="row_id")
    withdrawal = Withdrawal(
        number=next_number("withdrawal"), row_id=row.id, patient_id=row.patient_id, article_id=row.article_id,
        unit_id=row.prescription.unit_id, packages=packages, status=WithdrawalStatus.NEW.value,
        channel=channel.value, created_by_id=actor.id, ordered_at=utcnow(),
    )
    db.session.add(withdrawal)
    db.session.commit()
    return withdrawal


def send_withdrawal(actor: User, number: str) -> Withdrawal:
    """Send a new withdrawal to the distributor (Ny → Skickad)."""
    if not actor.can(Permission.CREATE_WITHDRAWALS):
        raise Forbidden("Du har inte behörighet att skicka uttag.")
    digits = digits_of(number)
    begin_write()
    cancelled = db.session.scalar(
        select(PrescriptionRow.status).join(Withdrawal, Withdrawal.row_id == PrescriptionRow.id)
        .where(Withdrawal.number == digits)
    ) == ROW_CANCELLED
    if cancelled:
        db.session.rollback()
        raise DomainError("Förskrivningsraden är makulerad; uttaget kan inte skickas. Avbryt det i stället.",
                          field="number")
    withdrawal = _move(digits, WithdrawalStatus.SENT, commit=False, sent_at=utcnow(), sent_by_id=actor.id)
    outbox.withdrawal_sent(withdrawal)  # outbox item, same transaction
    db.session.commit()
    return withdrawal


def abort_withdrawal(actor: User, number: str) -> Withdrawal:
    """Abort a new withdrawal (Ny → Avbruten) and give the row its withdrawal back."""
    if not actor.can(Permission.CREATE_WITHDRAWALS):
        raise Forbidden("Du har inte behörighet att avbryta uttag.")
    digits = digits_of(number)
    begin_write()
    withdrawal = _move(digits, WithdrawalStatus.ABORTED, commit=False, aborted_at=utcnow(),
                       aborted_by_id=actor.id)
    _give_withdrawal_back(withdrawal.row_id)
    db.session.commit()
    return withdrawal


def deliver_withdrawal(actor: User, number: str) -> Withdrawal:
    """Record a sent withdrawal as delivered (Skickad → Levererad); close the row when all are delivered."""
    if not actor.can(Permission.DELIVER_WITHDRAWALS):
        raise Forbidden("Du har inte behörighet att registrera leverans.")
    digits = digits_of(number)
    begin_write()
    now = utcnow()
    withdrawal = _move(digits, WithdrawalStatus.DELIVERED, commit=False, delivered_at=now,
                       delivered_by_id=actor.id)
    _close_row_when_delivered(withdrawal.row_id, now)
    db.session.commit()
    return withdrawal


def apply_main_server_status(u_number: str, status: str, changed_at: datetime | None) -> bool:
    """Move a withdrawal to the status the main server reports, when that is a step forward; return whether it moved.

    The receiver of sync.signals.withdrawal_status_pulled: it runs inside the pull's write transaction and
    never commits. The same side effects as the local use cases (a delivery may close the row, an
    abort gives the row its withdrawal back); the moment is the server's. Unknown U-numbers,
    unknown statuses and steps backwards are passed over.
    """
    try:
        digits, target = parse_u_number(u_number), WithdrawalStatus(status)
    except ValueError:
        return False
    found = db.session.execute(select(Withdrawal.row_id, Withdrawal.status).where(Withdrawal.number == digits)).first()
    if found is None or not can_move(WithdrawalStatus(found.status), target):
        return False
    at = changed_at or utcnow()
    moment = {WithdrawalStatus.SENT: "sent_at", WithdrawalStatus.DELIVERED: "delivered_at",
              WithdrawalStatus.ABORTED: "aborted_at"}[target]
    moved = db.session.execute(
        update(Withdrawal).where(Withdrawal.number == digits, Withdrawal.status == found.status)
        .values(status=target.value, **{moment: at}).execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        return False
    if target is WithdrawalStatus.DELIVERED:
        _close_row_when_delivered(found.row_id, at)
    elif target is WithdrawalStatus.ABORTED:
        _give_withdrawal_back(found.row_id)
    return True


def _give_withdrawal_back(row_id: int) -> None:
    db.session.execute(
        update(PrescriptionRow).where(PrescriptionRow.id == row_id)
        .values(withdrawals_used=PrescriptionRow.withdrawals_used - 1)
        .execution_options(synchronize_session=False)
    )


def _close_row_when_delivered(row_id: int, now: datetime) -> None:
    """Close the row as Levererad when every withdrawal is taken and none is still on its way."""
    pending = exists().where(Withdrawal.row_id == PrescriptionRow.id,
                             Withdrawal.status.in_((WithdrawalStatus.NEW.value, WithdrawalStatus.SENT.value)))
    db.session.execute(
        update(PrescriptionRow)
        .where(PrescriptionRow.id == row_id, PrescriptionRow.status == ROW_ACTIVE,
               PrescriptionRow.withdrawals_used >= PrescriptionRow.withdrawals, ~pending)
        .values(status=ROW_DELIVERED, closed_at=now)
        .execution_options(synchronize_session=False)
    )


def digits_of(number: str) -> int:
    """Return the 9 digits of a U-number; a malformed one is an unknown withdrawal (404 naming `number`)."""
    try:
        return parse_u_number(number)
    except ValueError as exc:
        raise NotFound(str(exc), field="number") from None


def _move(digits: int, target: WithdrawalStatus, commit: bool = True, **values) -> Withdrawal:  # noqa: ANN003
    """Move the withdrawal to `target` with a conditional UPDATE from the one status allowed before it."""
    source = next(s for s in WithdrawalStatus if can_move(s, target))
    result = db.session.execute(
        update(Withdrawal).where(Withdrawal.number == digits, Withdrawal.status == source.value)
        .values(status=target.value, **values)
        .execution_options(synchronize_session=False)
    )
    withdrawal = db.session.scalar(select(Withdrawal).where(Withdrawal.number == digits)
                                   .execution_options(populate_existing=True))
    if result.rowcount != 1:
        db.session.rollback()
        if withdrawal is None:
            raise NotFound(f"Uttag {format_u_number(digits)} finns inte.", field="number")
        raise DomainError(refused_transition_message(withdrawal.state, target), field="number")
    if commit:
        db.session.commit()
    return withdrawal

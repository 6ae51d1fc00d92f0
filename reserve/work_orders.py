"""Work orders for technicians (seed 004): "Arbetsordrar skrivs på papper och lämnas till ansvarig
tekniker." The work orders captured during the reserve routine are listed for the technician who
took them and for anyone who may take one; a technician takes an unassigned one with one
conditional UPDATE, so two cannot take the same.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import joinedload

from core.auth.roles import Permission, Role
from core.errors import DomainError, Forbidden
from core.extensions import db
from core.models import User
from core.store import begin_write
from reserve.capture import get_item
from reserve.models import ReserveItem
from reserve.rules import CANCELLED, WORK_ORDER, WORK_ORDER_TYPES

UNASSIGNED, TAKEN, REGISTERED, CANCELLED_LABEL = ("Ej tilldelad", "Tagen", "Registrerad i huvudsystemet",
                                                   "Makulerad")


class AlreadyTaken(DomainError):
    """Another technician took the work order first."""

    status = 409


def type_label(work_order_type: str | None) -> str:
    """Return the work-order type in Swedish (never the stored code, e.g. "repair")."""
    return WORK_ORDER_TYPES.get(work_order_type or "", work_order_type or "")


def status_label(item: ReserveItem) -> str:
    """Return where a work order stands, in Swedish."""
    if item.status == CANCELLED:
        return CANCELLED_LABEL
    taken = f"{TAKEN} av {item.technician.name}" if item.technician else UNASSIGNED
    return f"{taken} · " + (REGISTERED if item.registered_at else "väntar på registrering")


def sees_every_work_order(actor: User) -> bool:
    """Hjälpmedelsservice sees every work order; a technician their own and the unassigned ones."""
    return Role.HMS_STAFF in actor.roles


def work_orders_query(actor: User, *, include_cancelled: bool = False) -> Select:
    """Return the work orders the actor sees, newest first unless the table sorts otherwise."""
    if not actor.can(Permission.MANAGE_WORK_ORDERS):
        raise Forbidden("Du saknar behörighet att se arbetsordrar.")
    query = (select(ReserveItem).where(ReserveItem.kind == WORK_ORDER)
             .options(joinedload(ReserveItem.technician), joinedload(ReserveItem.unit),
                      joinedload(ReserveItem.article), joinedload(ReserveItem.responsible_prescriber)))
    if not sees_every_work_order(actor):
        query = query.where(or_(ReserveItem.technician_id == actor.id, ReserveItem.technician_id.is_(None)))
    if not include_cancelled:
        query = query.where(ReserveItem.status != CANCELLED)
    return query


def take(actor: User, number: str, now: datetime) -> ReserveItem:
    """Let a technician take an unassigned work order; refuse one someone else took first."""
    if Role.TECHNICIAN not in actor.roles:
        raise Forbidden("Bara en tekniker kan ta en arbetsorder.")
    begin_write()
    item = get_item(number)
    if item.kind != WORK_ORDER or item.status == CANCELLED:
        raise DomainError("Bara en arbetsorder som inte är makulerad kan tas.", field="reserve_number")
    taken = db.session.execute(
        update(ReserveItem).where(ReserveItem.id == item.id, ReserveItem.technician_id.is_(None))
        .values(technician_id=actor.id, taken_at=now).execution_options(synchronize_session=False)).rowcount
    if taken != 1:
        db.session.rollback()
        raise AlreadyTaken("Arbetsordern har redan tagits av en annan tekniker.", field="reserve_number")
    db.session.commit()
    return db.session.get(ReserveItem, item.id, populate_existing=True)

"""Captured orders and stock moves, for the lists where people look for orders (seed 004: what was
phoned in during the outage is registered afterwards; until then it exists only here)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from core.extensions import db
from reserve.models import ReserveItem
from reserve.rules import CAPTURED, ORDER, STOCK_MOVE

SHOWN = 50  # the newest; the work queue has them all


def captured_orders(limit: int = SHOWN) -> list[ReserveItem]:
    """Return the newest orders and stock moves captured in the reserve routine (not cancelled)."""
    return list(db.session.scalars(
        select(ReserveItem).where(ReserveItem.kind.in_((ORDER, STOCK_MOVE)), ReserveItem.status == CAPTURED)
        .options(joinedload(ReserveItem.unit), joinedload(ReserveItem.article))
        .order_by(ReserveItem.captured_at.desc(), ReserveItem.id.desc()).limit(limit)))

"""Reserve numbers: a range reserved in advance, printed on the kit's forms, used by captured items.

A number is free, printed (on a blank form in the kit) or used (by a captured item). Each
change of state is a conditional UPDATE that must touch exactly one row, so two agents can
never take the same number. Callers hold the write transaction and commit.
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import func, insert, select, update

from core.errors import ValidationFailed
from core.extensions import db
from reserve.models import ReserveNumber
from reserve.rules import format_reserve_number

FREE, PRINTED, USED = "free", "printed", "used"


def free_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ReserveNumber).where(ReserveNumber.state == FREE)) or 0


def reserve_block(now: datetime, count: int | None = None) -> tuple[int, int]:
    """Reserve the next block of numbers; return its first and last number."""
    count = count or int(current_app.config["RESERVE_NUMBER_BLOCK"])
    highest = db.session.scalar(select(func.max(ReserveNumber.number)))
    first = (highest + 1) if highest is not None else int(current_app.config["RESERVE_NUMBER_FIRST"])
    db.session.execute(insert(ReserveNumber), [
        {"number": n, "state": FREE, "reserved_at": now} for n in range(first, first + count)])
    return first, first + count - 1


def ensure_pool(now: datetime) -> tuple[int, int] | None:
    """Reserve a new block when fewer free numbers than the low-water mark are left."""
    if free_count() >= int(current_app.config["RESERVE_NUMBER_LOW_WATER"]):
        return None
    return reserve_block(now)


def take_free(now: datetime) -> int:
    """Mark the lowest free number used and return it (reserving a block if none is left)."""
    for _attempt in range(50):
        candidate = db.session.scalar(select(ReserveNumber.number).where(ReserveNumber.state == FREE)
                                      .order_by(ReserveNumber.number).limit(1))
        if candidate is None:
            current_app.logger.warning("reserve numbers: the pool was empty; reserving a block now")
            reserve_block(now)
            continue
        if _mark(candidate, FREE, USED, now):
            return candidate
    raise RuntimeError("could not take a reserve number")


def use_printed(number: int, now: datetime) -> int:
    """Mark a number printed on a kit form used, or refuse naming the field."""
    if _mark(number, PRINTED, USED, now):
        return number
    state = db.session.scalar(select(ReserveNumber.state).where(ReserveNumber.number == number))
    text = format_reserve_number(number)
    if state == USED:
        raise ValidationFailed.single("reserve_number", f"Reservnummer {text} är redan använt. Kontrollera "
                                                        "blanketten; registrera utan nummer om den är en kopia.")
    raise ValidationFailed.single("reserve_number", f"Reservnummer {text} finns inte på någon utskriven blankett.")


def print_numbers(count: int, now: datetime) -> list[int]:
    """Return `count` numbers for blank forms: those printed before and still unused, topped up
    with free ones (which become printed). A form printed twice keeps its number."""
    printed = list(db.session.scalars(select(ReserveNumber.number).where(ReserveNumber.state == PRINTED)
                                      .order_by(ReserveNumber.number).limit(count)))
    while len(printed) < count:
        candidate = db.session.scalar(select(ReserveNumber.number).where(ReserveNumber.state == FREE)
                                      .order_by(ReserveNumber.number).limit(1))
        if candidate is None:
            reserve_block(now)
            continue
        if _mark(candidate, FREE, PRINTED, now):
            printed.append(candidate)
    return printed


def _mark(number: int, before: str, after: str, now: datetime) -> bool:
    stamp = {"printed_at": now} if after == PRINTED else {"used_at": now}
    result = db.session.execute(update(ReserveNumber).where(ReserveNumber.number == number,
                                                            ReserveNumber.state == before)
                                .values(state=after, **stamp).execution_options(synchronize_session=False))
    return result.rowcount == 1

"""What the main server has registered of what was captured or prescribed during an outage.

The sync engine keeps each outbox item's fate; this module reads it through the engine's
public trace (`sync.outbox.traces_for`) and notes, on the captured item or the prescription's
"awaiting registration" mark, when it was registered and the main server's id. It runs with
the checklist job, before the reserve pages read, and after every batch the sync engine's sender
had acknowledged (sync.sender.register_ack_listener), so the sync engine needs to know nothing of it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core.extensions import db
from core.store import begin_write
from reserve.capture import get_item
from reserve.hooks import mark_item_registered
from reserve.models import AwaitingRegistration, ReserveItem
from reserve.rules import CAPTURED, PRESCRIPTION, format_reserve_number
from reserve.signals import captured_prescription_registered
from sync.outbox import Trace, items_for_subject, traces_for

REGISTERED_STATES = ("acked", "resolved")  # resolved: linked to the server's record, or sent anew


def traces_of(items: list[ReserveItem]) -> dict[str, Trace]:
    """Return each captured item's trace through the sync engine, by outbox key."""
    return traces_for([item.outbox_key for item in items if item.outbox_key])


def _pending() -> tuple[list[tuple[str, str]], list[tuple[int, list[str]]]]:
    """Return (reserve number, outbox key) of captured items and (prescription, its keys) not yet registered."""
    items = [(format_reserve_number(n), key) for n, key in db.session.execute(
        select(ReserveItem.number, ReserveItem.outbox_key).where(
            ReserveItem.status == CAPTURED, ReserveItem.registered_at.is_(None), ReserveItem.outbox_key.is_not(None)))]
    marks = [(prescription_id, [i.key for i in items_for_subject(f"prescription:{prescription_id}")
                                if i.kind == "prescription"])
             for prescription_id in db.session.scalars(select(AwaitingRegistration.prescription_id)
                                                       .where(AwaitingRegistration.registered_at.is_(None)))]
    return items, marks


def refresh(now: datetime) -> int:
    """Note every registration the sync engine has had acknowledged; return how many were new."""
    items, marks = _pending()
    traces = traces_for([key for _, key in items] + [key for _, keys in marks for key in keys])
    done_items = [(number, trace) for number, key in items
                  if (trace := traces.get(key)) is not None and trace.final_state in REGISTERED_STATES]
    done_marks = []
    for prescription_id, keys in marks:
        finals = [traces[k] for k in keys if k in traces and traces[k].final_state in REGISTERED_STATES]
        if finals:
            done_marks.append((prescription_id, finals[-1]))
    db.session.commit()  # end the read
    if not done_items and not done_marks:
        return 0
    begin_write()
    for number, trace in done_items:
        note_item_registered(number, trace.final_server_id, trace.registered_at or now)
    for prescription_id, trace in done_marks:
        mark = db.session.get(AwaitingRegistration, prescription_id, populate_existing=True)
        if mark is not None and mark.registered_at is None:
            mark.registered_at, mark.main_server_id = trace.registered_at or now, trace.final_server_id
    db.session.commit()
    return len(done_items) + len(done_marks)


def note_item_registered(number: str, main_server_id: str | None, at: datetime) -> bool:
    """Note the main server's registration of a captured item; an acute prescription becomes a local
    prescription (through the signal), so prescribers find it in the patient's overview. The caller commits."""
    if not mark_item_registered(number, main_server_id, at):
        return False
    item = get_item(number)
    if item.kind == PRESCRIPTION and item.prescription_id is None:
        captured_prescription_registered.send(item, main_server_id=main_server_id, at=at)
    return True

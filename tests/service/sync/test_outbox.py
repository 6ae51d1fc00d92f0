"""The outbox is written in the same transaction as the change it registers (service level, real store)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.clock import utcnow
from core.errors import DomainError
from core.extensions import db
from core.models import PrescriptionRow
from app.prescribing.services import RowConflict, cancel_row
from core.store import begin_write
from status import incidents
from status.scenarios import Scenario
from status.settings import current_settings
from sync import outbox
from sync.models import OutboxItem, SyncAudit
from sync.rules import BLOCKED, CANCELLED, PENDING, REVIEW, payload_hash
from tests.service.sync.conftest import payload_for, prescribe


def all_items() -> list[OutboxItem]:
    return list(db.session.scalars(select(OutboxItem).order_by(OutboxItem.id).execution_options(
        populate_existing=True)))


def test_enqueue_refuses_to_run_outside_a_write_transaction(ctx):
    with pytest.raises(RuntimeError, match="begin_write"):
        outbox.enqueue("order", payload_for("order", 1))


def test_enqueue_freezes_the_payload_with_its_hash_and_a_fresh_key(ctx):
    begin_write()
    first = outbox.enqueue("stock_move", {"to_warehouse": 50301, "lines": [{"quantity": 5, "article": "1"}]},
                           channel="phone")
    second = outbox.enqueue("stock_move", {"lines": [{"article": "1", "quantity": 5}], "to_warehouse": 50301})
    db.session.commit()
    assert first.key != second.key and len(first.key) == 36
    assert first.payload == second.payload == '{"lines":[{"article":"1","quantity":5}],"to_warehouse":50301}'
    assert first.payload_hash == payload_hash(first.payload)
    assert (first.priority, first.state, first.channel, second.channel) == (10, PENDING, "phone", "app")
    assert outbox.item_for_key(first.key).id == first.id


def test_a_saved_prescription_and_its_outbox_item_commit_together(world):
    prescription = prescribe(world)
    (item,) = all_items()
    assert (item.kind, item.state, item.subject_ref) == ("prescription", PENDING, f"prescription:{prescription.id}")
    assert item.ordering_key == f"patient:{world['patient'].id}"
    assert item.created_by_id == world["karin"].id
    data = item.data
    assert data["number"] == prescription.number and data["patient"] == {"personnummer": world["patient"].personnummer}
    assert data["rows"] == [{"ref": prescription.rows[0].id, "article": "310001", "packages_per_withdrawal": 2,
                             "pieces_per_day": None, "period_days": 90, "withdrawals": 4,
                             "valid_until": prescription.rows[0].valid_until.isoformat(), "recommendation": None,
                             "copied_from_ref": None}]
    assert "Öberg" not in item.payload  # names stay local


def test_a_refused_prescription_leaves_no_outbox_item(world):
    prescribe(world)
    with pytest.raises(RowConflict):
        prescribe(world)  # the same article again: one active row per patient and article
    assert len(all_items()) == 1


def test_cancelling_a_row_queues_its_cancellation_after_its_prescription(world):
    prescription = prescribe(world)
    row_id = prescription.rows[0].id
    cancel_row(world["karin"], row_id)
    first, cancel = all_items()
    assert (cancel.kind, cancel.parent_key, cancel.ordering_key) == ("prescription_cancel", first.key,
                                                                       first.ordering_key)
    assert cancel.data["prescription_key"] == first.key and cancel.data["article"] == "310001"
    assert cancel.data["cancelled_by"]["username"] == "karin"


def test_copy_correct_queues_the_original_rows_cancellation_before_the_new_prescription(world):
    original = prescribe(world)
    row = original.rows[0]
    copy = prescribe(world, world["pads"], copied_from={world["pads"].id: row.id})
    first, cancel, second = all_items()
    assert [i.kind for i in (first, cancel, second)] == ["prescription", "prescription_cancel", "prescription"]
    assert cancel.data["row_ref"] == row.id and cancel.parent_key == first.key
    assert second.subject_ref == f"prescription:{copy.id}" and second.data["rows"][0]["copied_from_ref"] == row.id
    assert (cancel.created_at, cancel.id) < (second.created_at, second.id)  # FIFO for this patient


def test_copying_a_row_cancelled_earlier_queues_no_second_cancellation(world):
    original = prescribe(world)
    row_id = original.rows[0].id
    cancel_row(world["karin"], row_id)
    prescribe(world, world["pads"], copied_from={world["pads"].id: row_id})
    assert [i.kind for i in all_items()] == ["prescription", "prescription_cancel", "prescription"]


def test_a_cancellation_of_a_row_the_main_server_never_had_is_not_queued(world):
    original = prescribe(world)
    begin_write()
    db.session.execute(OutboxItem.__table__.update().values(state=CANCELLED))  # withdrawn before it was sent
    db.session.commit()
    cancel_row(world["karin"], original.rows[0].id)
    assert [i.kind for i in all_items()] == ["prescription"]


def test_items_captured_during_an_outage_belong_to_its_incident(world):
    begin_write()
    incident = incidents.open_incident(Scenario.MAIN_SERVER_OUTAGE, utcnow() - timedelta(hours=1), utcnow(),
                                       current_settings())
    db.session.commit()
    prescribe(world)
    begin_write()
    explicit = outbox.enqueue("work_order", payload_for("work_order", 1), incident_id=None)
    db.session.commit()
    assert [i.incident_id for i in all_items()] == [incident.id, incident.id]
    assert explicit.incident_id == incident.id


def test_hand_captured_items_wait_for_review_when_the_kind_is_configured(world, monkeypatch, app):
    monkeypatch.setitem(app.config, "SYNC_REVIEW", {"order": ["hms_staff"]})
    begin_write()
    reviewed = outbox.enqueue("order", payload_for("order", 1), requires_review=True, channel="phone")
    unconfigured = outbox.enqueue("stock_move", payload_for("stock_move", 2), requires_review=True)
    automatic = outbox.enqueue("order", payload_for("order", 3))
    db.session.commit()
    assert (reviewed.state, unconfigured.state, automatic.state) == (REVIEW, PENDING, PENDING)


def test_a_child_of_a_parent_in_conflict_starts_blocked_and_a_cancelled_parent_refuses_children(ctx):
    begin_write()
    parent = outbox.enqueue("order", payload_for("order", 1))
    db.session.commit()
    begin_write()
    db.session.execute(OutboxItem.__table__.update().where(OutboxItem.id == parent.id).values(state="conflict"))
    child = outbox.enqueue("outbound_delivery", payload_for("outbound_delivery", 2), parent_key=parent.key)
    db.session.commit()
    assert child.state == BLOCKED
    begin_write()
    db.session.execute(OutboxItem.__table__.update().where(OutboxItem.id == parent.id).values(state="cancelled"))
    with pytest.raises(DomainError):
        outbox.enqueue("outbound_delivery", payload_for("outbound_delivery", 3), parent_key=parent.key)
    db.session.rollback()


def test_an_edit_is_a_new_item_with_a_new_key_and_the_old_points_at_it(world):
    begin_write()
    old = outbox.enqueue("order", {"lines": [{"article": "1", "quantity": 2}], "note": "akut"},
                         created_by_id=world["kim"].id, channel="phone")
    child = outbox.enqueue("outbound_delivery", payload_for("outbound_delivery", 9), parent_key=old.key)
    db.session.commit()
    begin_write()
    new = outbox.replace(old.key, {"lines": [{"article": "1", "quantity": 3}], "note": "akut"},
                         actor_id=world["hanna"].id, note="Fel antal i telefon")
    db.session.commit()
    old = outbox.item_for_key(old.key)
    assert (old.state, old.superseded_by_key, new.supersedes_key) == (CANCELLED, new.key, old.key)
    assert new.key != old.key and new.data["lines"][0]["quantity"] == 3
    assert (new.created_by_id, new.channel, new.created_at) == (world["kim"].id, "phone", old.created_at)
    assert db.session.get(OutboxItem, child.id, populate_existing=True).parent_key == new.key
    trace = outbox.trace_for(old.key)
    assert trace.final_key == new.key and trace.audit[0].action == "edited" and trace.audit[0].actor == "Hanna Hjälpmedel"
    assert trace.audit[0].details["changed"] == ["lines"]


def test_an_item_that_may_already_be_at_the_server_cannot_be_edited_or_cancelled(world):
    begin_write()
    item = outbox.enqueue("order", payload_for("order", 1))
    db.session.commit()
    begin_write()
    db.session.execute(OutboxItem.__table__.update().values(attempts=1, uncertain=True))
    db.session.commit()
    begin_write()
    with pytest.raises(DomainError):
        outbox.replace(item.key, payload_for("order", 2), actor_id=world["hanna"].id)
    with pytest.raises(DomainError):
        outbox.cancel(item.key, actor_id=world["hanna"].id, note="x")
    db.session.rollback()


def test_the_trace_names_who_captured_when_how_under_which_incident_and_who_approved(world):
    begin_write()
    item = outbox.enqueue("work_order", payload_for("work_order", 1), created_by_id=world["kim"].id,
                          channel="paper")
    db.session.commit()
    trace = outbox.trace_for(item.key)
    assert (trace.captured_by, trace.channel_label, trace.kind_label) == ("Kim Kundservice", "Papper", "Arbetsorder")
    assert trace.approved_by is None and trace.server_id is None and trace.final_key == item.key
    assert outbox.traces_for([item.key, "unknown"]).keys() == {item.key}
    assert db.session.scalar(select(func.count()).select_from(SyncAudit)) == 0


def test_cancel_row_still_cancels_when_the_row_never_reached_the_outbox(world):
    from tests import factories

    row = factories.prescription_row(world["patient"], world["liners"], world["karin"], unit=world["unit"])
    cancel_row(world["karin"], row.id)
    (item,) = all_items()
    assert item.kind == "prescription_cancel" and item.parent_key is None and item.data["prescription_key"] is None
    assert db.session.get(PrescriptionRow, row.id).status == "cancelled"


def test_items_captured_before_the_outage_was_confirmed_are_adopted_by_its_incident(world):
    begin_write()
    before_it_began = outbox.enqueue("order", payload_for("order", 1), now=utcnow() - timedelta(minutes=10))
    while_suspect = outbox.enqueue("order", payload_for("order", 2), now=utcnow() - timedelta(minutes=1))
    db.session.commit()
    assert outbox.adopt_into_incident(utcnow()) == 0  # no incident yet
    begin_write()
    incident = incidents.open_incident(Scenario.MAIN_SERVER_OUTAGE, utcnow() - timedelta(minutes=2), utcnow(),
                                       current_settings())
    db.session.commit()
    assert outbox.adopt_into_incident(utcnow()) == 1
    assert outbox.item_for_key(while_suspect.key).incident_id == incident.id
    assert outbox.item_for_key(before_it_began.key).incident_id is None


def test_a_sent_withdrawal_is_queued_after_its_prescription_for_the_same_patient(world):
    from app.withdrawals.rules import Channel
    from app.withdrawals.services import create_withdrawal, send_withdrawal

    prescription = prescribe(world)
    withdrawal = create_withdrawal(world["karin"], prescription.rows[0].id, 2, Channel.PRESCRIBER)
    withdrawal = send_withdrawal(world["karin"], f"U{withdrawal.number:09d}")  # queues it, same transaction
    registration, queued = all_items()
    assert (queued.kind, queued.parent_key) == ("withdrawal", registration.key)
    assert queued.ordering_key == registration.ordering_key and queued.priority == 40
    assert queued.data["u_number"] == f"U{withdrawal.number:09d}" and queued.data["article"] == "310001"
    assert queued.data["packages"] == 2 and queued.subject_ref == f"withdrawal:{withdrawal.id}"

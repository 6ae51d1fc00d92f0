"""The review gate, the error queue and the conflict queue: each action once, audited, sent exactly once."""
from __future__ import annotations

import threading

import pytest
import requests
from sqlalchemy import select

from core.errors import DomainError, Forbidden, ValidationFailed
from core.extensions import db
from core.models import PrescriptionRow
from core.store import begin_write
from sync import conflicts, outbox, review
from sync.models import OutboxItem, SyncAudit
from sync.rules import ACKED, BLOCKED, CANCELLED, CONFLICT, DEAD, PENDING, RESOLVED, REVIEW
from tests.service.sync.conftest import assert_exactly_once, drain, items, payload_for, prescribe, reload


def hand_captured(kind: str = "order", n: int = 1, **kwargs) -> OutboxItem:
    begin_write()
    item = outbox.enqueue(kind, payload_for(kind, n) | kwargs.pop("extra", {}), requires_review=True,
                          channel="phone", **kwargs)
    db.session.commit()
    return item


def audit_actions(item: OutboxItem) -> list[str]:
    return [a.action for a in db.session.scalars(select(SyncAudit).where(SyncAudit.item_id == item.id)
                                                 .order_by(SyncAudit.id))]


# --- Review gate ---------------------------------------------------------------------------------------

def test_hms_staff_approve_a_hand_captured_order_and_it_becomes_sendable(world):
    item = hand_captured(created_by_id=world["kim"].id)
    assert item.state == REVIEW
    review.approve(world["hanna"], item.key, "Kontrollerad mot telefonanteckning")
    item = outbox.item_for_key(item.key)
    assert (item.state, item.approved_by_id) == (PENDING, world["hanna"].id) and item.approved_at is not None
    trace = outbox.trace_for(item.key)
    assert trace.approved_by == "Hanna Hjälpmedel" and trace.audit[0].note == "Kontrollerad mot telefonanteckning"


def test_approving_twice_acts_once(world):
    item = hand_captured()
    review.approve(world["hanna"], item.key)
    with pytest.raises(DomainError):
        review.approve(world["hanna"], item.key)
    assert audit_actions(item) == ["approved"]


def test_only_the_kinds_approvers_may_approve(world):
    order = hand_captured("order")
    work_order = hand_captured("work_order", 2)
    with pytest.raises(Forbidden):
        review.approve(world["kim"], order.key)
    with pytest.raises(Forbidden):
        review.approve(world["teo"], order.key)
    # Seed 004: work orders are back-registered by the responsible prescriber or technician too.
    review.approve(world["teo"], work_order.key)
    assert outbox.item_for_key(work_order.key).state == PENDING


def test_an_edit_is_a_new_approved_item_with_a_new_key_and_the_old_one_is_cancelled(world):
    item = hand_captured("work_order", 1, created_by_id=world["kim"].id, extra={"form_number": "AO-1"})
    copy = review.edit(world["hanna"], item.key, {"description": "Byt batteri och däck"}, "Tekniker ringde")
    old = outbox.item_for_key(item.key)
    assert (old.state, old.superseded_by_key) == (CANCELLED, copy.key)
    assert (copy.state, copy.approved_by_id, copy.created_by_id) == (PENDING, world["hanna"].id, world["kim"].id)
    assert copy.data["description"] == "Byt batteri och däck" and copy.data["form_number"] == "AO-1"
    assert audit_actions(old) == ["edited"] and audit_actions(copy) == ["created_by_edit"]


def test_an_edit_needs_a_reason_a_change_and_a_field_of_the_same_type(world):
    item = hand_captured("work_order", 1)
    with pytest.raises(ValidationFailed):
        review.edit(world["hanna"], item.key, {"description": "x"}, "")
    with pytest.raises(ValidationFailed):
        review.edit(world["hanna"], item.key, {"description": payload_for("work_order", 1)["description"]}, "ingen")
    with pytest.raises(ValidationFailed):
        review.edit(world["hanna"], item.key, {"lines": "1"}, "listor ändras inte här")
    db.session.rollback()
    assert outbox.item_for_key(item.key).state == REVIEW


def test_items_made_in_the_system_are_not_edited_here(world):
    prescribe(world)
    (item,) = db.session.scalars(select(OutboxItem))
    with pytest.raises(DomainError):
        review.edit(world["hanna"], item.key, {"number": 1}, "nej")


def test_cancelling_in_review_needs_a_reason_and_takes_the_children_along(world):
    parent = hand_captured("order", 1)
    begin_write()
    child = outbox.enqueue("outbound_delivery", payload_for("outbound_delivery", 2), parent_key=parent.key)
    db.session.commit()
    with pytest.raises(ValidationFailed):
        review.cancel(world["hanna"], parent.key, " ")
    db.session.rollback()
    review.cancel(world["hanna"], parent.key, "Dubbelregistrerad")
    assert outbox.item_for_key(parent.key).state == CANCELLED
    assert outbox.item_for_key(child.key).state == CANCELLED
    assert audit_actions(outbox.item_for_key(child.key)) == ["cancelled_with_parent"]


def test_a_dead_item_is_retried_with_the_same_key_and_its_children_unblocked(world):
    parent = hand_captured("order", 1)
    begin_write()
    child = outbox.enqueue("outbound_delivery", payload_for("outbound_delivery", 2), parent_key=parent.key)
    db.session.execute(OutboxItem.__table__.update().where(OutboxItem.id == parent.id).values(state=DEAD))
    db.session.execute(OutboxItem.__table__.update().where(OutboxItem.id == child.id).values(state=BLOCKED))
    db.session.commit()
    with pytest.raises(Forbidden):
        review.retry(world["kim"], parent.key)
    review.retry(world["hanna"], parent.key, "Artikeln är upplagd nu")
    assert outbox.item_for_key(parent.key).state == PENDING and outbox.item_for_key(parent.key).send_alone
    assert outbox.item_for_key(child.key).state == PENDING


# --- Conflicts, against the real reference server ------------------------------------------------------

def _conflicting_prescription(sync_app, main_server, committed_world) -> tuple[str, str]:
    """Register the patient's active row at the server from elsewhere, then prescribe here: a conflict."""
    with sync_app.app_context():
        world = reload(committed_world)
        patient = world["patient"].personnummer
        existing = requests.post(main_server.url + "/api/v1/batch", timeout=5, json={"site": "other", "items": [{
            "key": "from-the-phone", "kind": "prescription", "payload": {
                "patient": {"personnummer": patient}, "rows": [{"article": "310001", "packages_per_withdrawal": 1}]}}]})
        server_id = existing.json()["results"][0]["id"]
        prescribe(world)
        db.session.remove()
    drain(sync_app)
    (item,) = [i for i in items(sync_app) if i.kind == "prescription"]
    assert (item.state, item.conflict_server_id) == (CONFLICT, server_id)
    return item.key, server_id


def _resolve(sync_app, committed_world, key, action, note="Kontrollerat med förskrivaren"):  # noqa: ANN001, ANN201
    with sync_app.app_context():
        world = reload(committed_world)
        result = conflicts.resolve(world["hanna"], key, action, note)
        result_key = result.key
        db.session.remove()
    return result_key


def test_linking_a_conflict_registers_it_under_the_servers_id_without_sending(sync_app, main_server,
                                                                              committed_world):
    key, server_id = _conflicting_prescription(sync_app, main_server, committed_world)
    _resolve(sync_app, committed_world, key, "link")
    drain(sync_app)
    (item,) = items(sync_app)
    assert (item.state, item.server_id, item.resolution) == (RESOLVED, server_id, "linked")
    assert [r["outcome"] for r in main_server.registrations()] == ["conflict"]


def test_cancelling_the_local_side_cancels_the_local_rows_and_sends_nothing(sync_app, main_server, committed_world):
    key, _ = _conflicting_prescription(sync_app, main_server, committed_world)
    _resolve(sync_app, committed_world, key, "cancel_local")
    drain(sync_app)
    (item,) = items(sync_app)
    assert item.state == CANCELLED
    with sync_app.app_context():
        rows = list(db.session.scalars(select(PrescriptionRow)))
        assert [(r.status, r.closed_by_id) for r in rows] == [("cancelled", committed_world["hanna"].id)]
        db.session.remove()
    assert len(main_server.registrations()) == 1


def test_sending_anew_replaces_the_servers_row_and_is_registered_exactly_once(sync_app, main_server,
                                                                              committed_world):
    key, server_id = _conflicting_prescription(sync_app, main_server, committed_world)
    new_key = _resolve(sync_app, committed_world, key, "send_as_new")
    assert new_key != key
    drain(sync_app)
    drain(sync_app)
    by_key = {i.key: i for i in items(sync_app)}
    assert (by_key[key].state, by_key[key].superseded_by_key) == (RESOLVED, new_key)
    assert by_key[new_key].state == ACKED and by_key[new_key].data["replaces"] == [f"{server_id}-1"]
    assert by_key[new_key].data["resend_of"] == key
    assert [r["key"] for r in main_server.registrations() if r["outcome"] == "created"] == [new_key]
    assert_exactly_once(sync_app, main_server, site="test-site")


def test_two_people_resolving_at_once_resolve_once(sync_app, main_server, committed_world):
    key, _ = _conflicting_prescription(sync_app, main_server, committed_world)
    outcomes: list = []

    def resolve(action: str) -> None:
        try:
            _resolve(sync_app, committed_world, key, action)
            outcomes.append(action)
        except DomainError:
            outcomes.append("refused")

    threads = [threading.Thread(target=resolve, args=(a,)) for a in ("send_as_new", "send_as_new", "link")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(outcomes).count("refused") == 2
    drain(sync_app)
    with sync_app.app_context():
        resolutions = list(db.session.scalars(select(SyncAudit.action).where(SyncAudit.action.like("resolved_%"))))
        db.session.remove()
    assert len(resolutions) == 1
    assert len([r for r in main_server.registrations() if r["outcome"] == "created"]) <= 1


def test_only_hms_staff_resolve_and_a_reason_is_required(world):
    begin_write()
    item = outbox.enqueue("order", payload_for("order", 1))
    db.session.execute(OutboxItem.__table__.update().values(state=CONFLICT, conflict_server_id="B1",
                                                            problem='{"type": "number_taken", "existing_id": "B1"}'))
    db.session.commit()
    with pytest.raises(Forbidden):
        conflicts.resolve(world["kim"], item.key, "link", "x")
    with pytest.raises(ValidationFailed):
        conflicts.resolve(world["hanna"], item.key, "link", "")
    with pytest.raises(ValidationFailed):
        conflicts.resolve(world["hanna"], item.key, "explode", "x")
    copy = conflicts.resolve(world["hanna"], item.key, "send_as_new", "Nytt blankettnummer")
    assert "form_number" not in copy.data and copy.state == PENDING

"""Outbox items shaped as the reserve routine captures them (reserve/outbox.py), for the review pages' tests."""
from __future__ import annotations

from core.extensions import db
from core.store import begin_write
from sync import outbox
from sync.models import OutboxItem


def captured(world: dict, number: str, kind: str = "prescription", channel: str = "phone", unit=None,  # noqa: ANN001
             article=None, packages: int = 2) -> OutboxItem:  # noqa: ANN001
    """Enqueue an item shaped as the reserve routine captures it, waiting for review."""
    unit, article = unit or world["unit"], article or world["pads"]
    who = {"username": "karin", "hsa_id": "SE2321000016-K1"}
    payload = {"form_number": number, "channel": channel, "captured_by": "kim", "note": "Ringde 09.12",
               "responsible_prescriber": who, "possible_duplicate_of": None,
               "unit": {"customer_number": unit.customer_number}}
    if kind == "prescription":
        payload |= {"patient": {"personnummer": world["patient"].personnummer}, "prescriber": who,
                    "product_area": "inkontinens", "prescribed_on": "2026-11-02",
                    "rows": [{"ref": number, "article": article.number, "packages_per_withdrawal": packages,
                              "withdrawals": 1}]}
    else:
        payload["lines"] = [{"article": article.number, "quantity": packages}]
    begin_write()
    item = outbox.enqueue(kind, payload, requires_review=True, channel=channel, created_by_id=world["kim"].id)
    db.session.commit()
    return item

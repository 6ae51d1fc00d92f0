"""Prescribing: quantity calculation, fees, new prescriptions, cancel, copy/correct, receipts."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the pages and the API; withdraw rows when hms_staff cancel the local side of a conflict;
    make the local prescription of an acute prescription captured in the reserve routine once registered."""
    from app.prescribing import outbox, reserve_registration
    from app.prescribing.api import bp as api_bp
    from app.prescribing.views import bp
    from reserve.signals import captured_prescription_registered
    from sync.signals import local_record_withdrawn

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    local_record_withdrawn.connect(outbox.withdraw_rows)
    captured_prescription_registered.connect(reserve_registration.make_local_prescription)

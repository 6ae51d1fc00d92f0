"""Signals the reserve routine sends; the feature packages above connect receivers in their init_app()."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

captured_prescription_registered = _signals.signal("captured-prescription-registered", doc="""
Sent inside the write transaction that notes the main server's registration of an acute
prescription captured during the reserve routine, with the ReserveItem as sender and
`main_server_id=`, `at=`. Prescribing makes the local prescription from it and sets
`item.prescription_id`, so the row shows in the patient's overview like any other.
""")

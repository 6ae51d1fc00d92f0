"""Signals the sync engine sends; the owners of the records connect receivers in their init_app()."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

items_acknowledged = _signals.signal("items-acknowledged", doc="""
Sent with the moment as sender after each batch the main server acknowledged any of, once that
batch is committed (the reserve routine marks captured items registered at once). A failing
receiver is logged and never stops sending.
""")

withdrawal_status_pulled = _signals.signal("withdrawal-status-pulled", doc="""
Sent inside the pull's transaction for each withdrawal status in the main server's changes feed,
with the U-number as sender and `status=`, `changed_at=` (withdrawals apply it to their own row).
""")

local_record_withdrawn = _signals.signal("local-record-withdrawn", doc="""
Sent when hms_staff cancel the local side of a conflict, with the outbox item as sender and
`actor=`, `now=`. The package that owns the record withdraws it and returns the subject refs it
withdrew (prescribing: the rows it cancelled), or None when the item is not its own.
""")

"""Free-text notes about a patient's case, as shown to someone who may not read patient data."""
from __future__ import annotations

# Notes are typed by customer service during an outage and may describe the patient in words no
# screen can recognise; IT staff run the reserve routine's status side and never read patient data.
HIDDEN_NOTE = "[anteckning dold]"


def visible_note(note: str | None, may_read_patients: bool) -> str | None:
    """Return the note for a reader who may read patient data, and only that it exists for one who may not."""
    if not note:
        return note
    return note if may_read_patients else HIDDEN_NOTE

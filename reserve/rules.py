"""Rules of the reserve routine as plain functions over plain values (seeds 001 and 004).

What a captured item must hold per kind, the e-mail-without-personal-data rule, priorities,
the duplicate match, reserve numbers, and the state of a checklist step. No Flask, no store.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.api.validation import control_character_message
from core.errors import FieldError
from core.privacy.screening import personal_data_in

PRESCRIPTION, ORDER, STOCK_MOVE, WORK_ORDER = "prescription", "order", "stock_move", "work_order"
KINDS = (PRESCRIPTION, ORDER, STOCK_MOVE, WORK_ORDER)
KIND_LABELS = {PRESCRIPTION: "Förskrivning", ORDER: "Beställning", STOCK_MOVE: "Lagerflytt",
               WORK_ORDER: "Arbetsorder"}
# Seed 004: "Vid ett driftsstopp prioriteras alltid lagerflytt/lagerpåfyllnad"; the rest in the
# sync engine's order (orders, prescriptions, work orders). Lower is sooner.
PRIORITY = {STOCK_MOVE: 1, ORDER: 2, PRESCRIPTION: 3, WORK_ORDER: 4}

PHONE, EMAIL, PAPER = "phone", "email", "paper"
CHANNELS = (PHONE, EMAIL, PAPER)
CHANNEL_LABELS = {PHONE: "Telefon", EMAIL: "E-post", PAPER: "Papper"}

# The work-order types the capture form offers; chosen once, never changed (a wrong one is
# cancelled and captured again).
WORK_ORDER_TYPES = {
    "repair": "Reparation",
    "maintenance": "Service/underhåll",
    "adjustment": "Anpassning/installation",
    "delivery": "Utleverans/utkörning",
    "pickup": "Hämtning/retur",
    "inspection": "Besiktning",
}

MIN_PACKAGES, MAX_PACKAGES = 1, 999
MAX_NOTE = 1000

CAPTURED, CANCELLED = "captured", "cancelled"
ITEM_STATUSES = (CAPTURED, CANCELLED)

RESERVE_NUMBER_PREFIX = "R"
_RESERVE_NUMBER = re.compile(r"^R?(\d{8})$")

# Which fields each kind needs (True), allows (None) or refuses (False).
FIELDS = ("patient", "unit", "article", "packages", "responsible_prescriber", "work_order_type", "note")
SHAPE: dict[str, dict[str, bool | None]] = {
    PRESCRIPTION: {"patient": True, "unit": True, "article": True, "packages": True,
                   "responsible_prescriber": True, "work_order_type": False, "note": None},
    ORDER: {"patient": False, "unit": True, "article": True, "packages": True,
            "responsible_prescriber": None, "work_order_type": False, "note": None},
    STOCK_MOVE: {"patient": False, "unit": True, "article": True, "packages": True,
                 "responsible_prescriber": None, "work_order_type": False, "note": None},
    WORK_ORDER: {"patient": None, "unit": None, "article": None, "packages": False,
                 "responsible_prescriber": True, "work_order_type": True, "note": True},
}
FIELD_LABELS = {"patient": "patient", "unit": "enhet", "article": "artikel", "packages": "antal förpackningar",
                "responsible_prescriber": "ansvarig förskrivare", "work_order_type": "arbetsordertyp",
                "note": "beskrivning"}

EMAIL_REFUSED = ("Ett ärende som kommit med e-post får inte innehålla personuppgifter. Be avsändaren ringa in "
                 "det till Kundservice i stället.")


@dataclass(frozen=True)
class CaptureInput:
    """One item as received, before it is looked up in the local store."""

    kind: str
    channel: str
    patient: str | None = None  # personnummer
    unit: str | None = None  # customer number of the care unit
    article: str | None = None  # article number
    packages: int | None = None
    responsible_prescriber: str | None = None  # username or HSA-id
    work_order_type: str | None = None
    note: str | None = None
    reserve_number: str | None = None  # the pre-printed number of a paper form


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_shape(item: CaptureInput) -> list[FieldError]:
    """Return what is wrong with the item before anything is looked up: kind, channel, fields, limits."""
    if item.kind not in KINDS:
        return [FieldError("kind", f"Okänd typ; välj en av {', '.join(KINDS)}.")]
    errors: list[FieldError] = []
    if item.channel not in CHANNELS:
        errors.append(FieldError("channel", f"Okänd kanal; välj en av {', '.join(CHANNELS)}."))
    errors += control_character_errors(item)
    if errors:
        return errors
    errors += email_personal_data_errors(item)
    if errors:
        return errors  # an e-mailed item with personal data is refused as a whole
    for name, rule in SHAPE[item.kind].items():
        value = getattr(item, name)
        if rule is True and _blank(value):
            errors.append(FieldError(name, f"Ange {FIELD_LABELS[name]} ({KIND_LABELS[item.kind].lower()})."))
        elif rule is False and not _blank(value):
            errors.append(FieldError(name, f"En {KIND_LABELS[item.kind].lower()} har ingen {FIELD_LABELS[name]}."))
    if item.packages is not None and SHAPE[item.kind]["packages"] is not False:
        if not MIN_PACKAGES <= item.packages <= MAX_PACKAGES:
            errors.append(FieldError("packages", f"Antal förpackningar ska vara {MIN_PACKAGES}–{MAX_PACKAGES}."))
    if item.work_order_type and item.kind == WORK_ORDER and item.work_order_type not in WORK_ORDER_TYPES:
        errors.append(FieldError("work_order_type", f"Okänd arbetsordertyp; välj en av "
                                                    f"{', '.join(WORK_ORDER_TYPES)}."))
    if item.note and len(item.note) > MAX_NOTE:
        errors.append(FieldError("note", f"Högst {MAX_NOTE} tecken."))
    if item.reserve_number is not None:
        if item.channel != PAPER:
            errors.append(FieldError("reserve_number", "Ett förtryckt reservnummer anges bara för pappersblanketter."))
        elif parse_reserve_number(item.reserve_number) is None:
            errors.append(FieldError("reserve_number", "Reservnumret ska vara R följt av åtta siffror."))
    return errors


TEXT_FIELDS = ("patient", "unit", "article", "responsible_prescriber", "work_order_type", "note", "reserve_number")


def control_character_errors(item: CaptureInput) -> list[FieldError]:
    """Return an error per text field holding a control character; only the note may hold tab and newline."""
    errors = []
    for name in TEXT_FIELDS:
        value = getattr(item, name)
        message = control_character_message(value, multiline=name == "note") if isinstance(value, str) else None
        if message:
            errors.append(FieldError(name, message))
    return errors


def email_personal_data_errors(item: CaptureInput) -> list[FieldError]:
    """Seed 004: an order may only be e-mailed when it holds no personal data (e.g. a stock move)."""
    if item.channel != EMAIL:
        return []
    if item.kind == PRESCRIPTION:
        return [FieldError("channel", "En förskrivning gäller alltid en patient och får inte tas emot med e-post. "
                                      "Be avsändaren ringa in den till Kundservice i stället.")]
    if not _blank(item.patient):
        return [FieldError("patient", EMAIL_REFUSED)]
    found = personal_data_in(item.note)
    if found is not None:
        return [FieldError("note", f"{found.sentence} {EMAIL_REFUSED}")]
    return []


def priority_of(kind: str) -> int:
    """Return the kind's place in the work queue: stock moves first (seed 004)."""
    return PRIORITY[kind]


def format_reserve_number(number: int) -> str:
    """Return the printed form of a reserve number, e.g. R10000001."""
    return f"{RESERVE_NUMBER_PREFIX}{number:08d}"


def parse_reserve_number(text: str) -> int | None:
    """Return the number of "R10000001" (or "10000001"), or None when it is not one."""
    match = _RESERVE_NUMBER.match(text.strip().upper())
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Comparable:
    """What the duplicate rule compares of a captured item."""

    id: int
    kind: str
    patient_id: int | None
    unit_id: int | None
    article_id: int | None


def possible_duplicate(new: Comparable, earlier: Iterable[Comparable]) -> Comparable | None:
    """Return the first earlier item that may be the same one: same patient and article, or, for
    items without a patient, same unit and article; any channel. None when there is none."""
    if new.article_id is None:
        return None
    for other in earlier:
        if other.id == new.id or other.article_id != new.article_id:
            continue
        if new.patient_id is not None and other.patient_id == new.patient_id:
            return other
        if new.patient_id is None and other.patient_id is None and new.unit_id is not None \
                and other.unit_id == new.unit_id:
            return other
    return None


# --- Checklist steps --------------------------------------------------------------------------

DONE, NOT_APPLICABLE, OVERDUE, WAITING, DUE, ONGOING = "done", "not_applicable", "overdue", "waiting", "due", "ongoing"
STEP_STATE_LABELS = {DONE: "Klar", NOT_APPLICABLE: "Ej aktuell", OVERDUE: "Försenad", WAITING: "Väntar – prognos finns",
                     DUE: "Att göra", ONGOING: "Löpande"}


def step_state(*, done_at: datetime | None, not_applicable: bool, due_at: datetime | None, now: datetime,
               waits_for_prognosis: bool = False) -> str:
    """Return the state a checklist step is shown in at `now`."""
    if done_at is not None:
        return DONE
    if not_applicable:
        return NOT_APPLICABLE
    if due_at is None:
        return ONGOING
    if waits_for_prognosis:
        return WAITING
    return OVERDUE if now > due_at else DUE


def due_at(base: datetime | None, deadline: timedelta | None) -> datetime | None:
    """Return when a step is due: its deadline after the outage start (or activation)."""
    if base is None or deadline is None:
        return None
    return base + deadline


# --- Drills -----------------------------------------------------------------------------------

# Stored statuses (reserve_drills.status) and the states a drill is shown in.
DRILL_RUNNING, DRILL_FINISHED, DRILL_FAILED = "running", "finished", "failed"
DRILL_QUEUED, DRILL_ABANDONED = "queued", "abandoned"
DRILL_STATE_LABELS = {DRILL_QUEUED: "Startar", DRILL_RUNNING: "Pågår", DRILL_FINISHED: "Klar",
                      DRILL_FAILED: "Misslyckades", DRILL_ABANDONED: "Avbruten"}
# A drill process writes a sign of life after every step; its slowest step (migrating the sandbox
# store, bounded at two minutes) stays well inside this. Silence beyond it: the process is gone.
DRILL_SILENCE_LIMIT = timedelta(minutes=5)


def drill_state(*, status: str, claimed: bool, last_sign_of_life: datetime, now: datetime) -> str:
    """Return the state a drill is shown in: a running drill whose process fell silent is abandoned."""
    if status != DRILL_RUNNING:
        return status
    if now - last_sign_of_life > DRILL_SILENCE_LIMIT:
        return DRILL_ABANDONED
    return DRILL_RUNNING if claimed else DRILL_QUEUED

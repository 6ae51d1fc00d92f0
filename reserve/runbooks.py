"""Runbooks as data: TOML files under runbooks/, validated against a schema when they are loaded.

A runbook describes what to do in one outage scenario of seed 001 (or, for seed 004, while the
reserve routine applies): steps with a role, a deadline relative to the outage start, and what
must be recorded. A broken file stops the application at start with the file and line named.
No Flask here: plain values in, plain values out.
"""
from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

import pydantic

from core.auth.roles import Role
from reserve.phases import PHASE_LABELS, Phase, script_phases
from reserve.rules import KINDS
from status.rules import ESCALATION_ROLES
from status.scenarios import Scenario

SCHEMA_VERSION = 1
RESERVE_ROUTINE = "reserve_routine"  # seed 004: the routine that applies while reserve mode holds
APPLIES_TO = tuple(s.value for s in Scenario) + (RESERVE_ROUTINE,)
OUTAGE_START, RESERVE_ACTIVATED = "outage_start", "reserve_activated"

# The seed's roles (seed 001 section 2, seed 004) and the app roles that may tick their steps.
# The business owner (admin) coordinates the routine and may tick any manual step.
RUNBOOK_ROLES: dict[str, tuple[str, frozenset[Role]]] = {
    "customer_service": ("Kundservice", frozenset({Role.CUSTOMER_SERVICE})),
    "hms_staff": ("Hjälpmedelsservice", frozenset({Role.HMS_STAFF})),
    "system_owner": ("Systemansvarig (SA)", frozenset({Role.IT_STAFF})),
    "it_staff": ("Regionala IT-funktionen", frozenset({Role.IT_STAFF})),
    "telephony_owner": ("Telefoniansvarig", frozenset({Role.IT_STAFF})),
    "business_owner": ("Verksamhetsansvarig", frozenset({Role.ADMIN})),
    "business_specialist": ("Verksamhetsspecialist", frozenset({Role.HMS_STAFF, Role.ADMIN})),
    "prescriber": ("Ansvarig förskrivare", frozenset({Role.PRESCRIBER})),
    "technician": ("Ansvarig tekniker", frozenset({Role.TECHNICIAN, Role.HMS_STAFF})),
    "system": ("Systemet", frozenset()),
}

# What the system can see happen, and so tick by itself (see reserve/checklists.py).
AUTOMATIC_EVENTS = (
    *(f"escalation:{role}" for role in ESCALATION_ROLES),
    "driftinfo_published", "prognosis_published", "reserve_activated", "reserve_published",
    "main_server_recovered", "reserve_ended", "items_registered",
)
CONDITIONS = ("off_duty", "on_duty")
_DEADLINE = re.compile(r"^(?:(?P<h>\d{1,3})\s*h)?\s*(?:(?P<m>\d{1,4})\s*m(?:in)?)?$")
_KEY = r"^[a-z][a-z0-9_]{0,59}$"


class RunbookError(Exception):
    """A runbook file that cannot be used; the message names the file and the line."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path, self.line, self.message = str(path), line, message
        where = f"{self.path}, line {line}" if line else self.path
        super().__init__(f"{where}: {message}")


def parse_deadline(text: str) -> timedelta:
    """Return the offset of "at once", "30m", "4h" or "4h 15m" from the outage start."""
    value = text.strip().lower()
    if value in ("at once", "0", "0m"):
        return timedelta(0)
    match = _DEADLINE.match(value)
    if not value or match is None or not (match["h"] or match["m"]):
        raise ValueError('deadline must be "at once" or a duration such as "30m", "4h" or "4h 15m"')
    return timedelta(hours=int(match["h"] or 0), minutes=int(match["m"] or 0))


# --- The schema ------------------------------------------------------------------------------

Text = Annotated[str, pydantic.StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
ShortText = Annotated[str, pydantic.StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Key = Annotated[str, pydantic.StringConstraints(pattern=_KEY)]


class _Schema(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", strict=True)


class StepSchema(_Schema):
    key: Key
    title: ShortText
    description: Text | None = None
    role: Literal[tuple(RUNBOOK_ROLES)]  # type: ignore[valid-type]
    deadline: ShortText | None = None  # omitted: ongoing, no deadline
    record: Text  # what must be recorded when the step is done
    automatic: Literal[AUTOMATIC_EVENTS] | None = None  # type: ignore[valid-type]
    applies_when: Literal[CONDITIONS] | None = None  # type: ignore[valid-type]
    note_required: bool = False

    @pydantic.field_validator("deadline")
    @classmethod
    def _deadline_parses(cls, value: str | None) -> str | None:
        if value is not None:
            parse_deadline(value)
        return value

    @pydantic.model_validator(mode="after")
    def _system_steps_are_automatic(self) -> StepSchema:
        if self.role == "system" and self.automatic is None:
            raise ValueError('a step with role "system" must name its automatic event')
        return self


class BannerSchema(_Schema):
    default: Text
    prescriber: Text | None = None
    customer_service: Text | None = None
    hms_staff: Text | None = None


class CaptureSchema(_Schema):
    # Manual capture normally needs the reserve routine; these roles may capture these kinds
    # while this scenario is ongoing even before it applies (seed 004: stock moves always first).
    without_reserve_roles: list[Literal[tuple(r.value for r in Role)]] = []  # type: ignore[valid-type]
    without_reserve_kinds: list[Literal[KINDS]] = []  # type: ignore[valid-type]


Sentences = list[Text]


class ScriptSchema(_Schema):
    """What customer service says to callers, one list of sentences per phase of the outage."""

    suspected: Sentences | None = None
    outage: Sentences | None = None
    reserve: Sentences | None = None
    recovering: Sentences | None = None
    resolved: Sentences | None = None

    def phases(self) -> dict[str, list[str]]:
        return {phase: lines for phase, lines in self.model_dump().items() if lines is not None}


class RunbookSchema(_Schema):
    schema_version: Literal[1] = pydantic.Field(alias="schema")
    key: Key
    applies_to: Literal[APPLIES_TO]  # type: ignore[valid-type]
    title: ShortText
    source: ShortText
    summary: Text
    relative_to: Literal[OUTAGE_START, RESERVE_ACTIVATED] = OUTAGE_START
    script: ScriptSchema = ScriptSchema()
    banner: BannerSchema
    capture: CaptureSchema = CaptureSchema()
    steps: list[StepSchema] = pydantic.Field(min_length=1, max_length=60)

    @pydantic.model_validator(mode="after")
    def _step_keys_unique(self) -> RunbookSchema:
        seen: set[str] = set()
        for step in self.steps:
            if step.key in seen:
                raise ValueError(f"step key {step.key!r} is used twice")
            seen.add(step.key)
        return self

    @pydantic.model_validator(mode="after")
    def _script_covers_the_scenarios_phases(self) -> RunbookSchema:
        given = self.script.phases()
        if self.applies_to == RESERVE_ROUTINE:
            if given:
                raise ValueError("script: the reserve routine has no script; write it in the scenario's runbook")
            return self
        expected = [p.value for p in script_phases(Scenario(self.applies_to))]
        if missing := [p for p in expected if not given.get(p)]:
            raise ValueError(f"script: phase {', '.join(missing)} needs at least one sentence")
        if extra := [p for p in given if p not in expected]:
            raise ValueError(f"script: phase {', '.join(extra)} does not occur in this scenario")
        return self


# --- Plain values the rest of the package uses -----------------------------------------------

@dataclass(frozen=True)
class Step:
    key: str
    title: str
    description: str | None
    role: str
    deadline: timedelta | None
    record: str
    automatic: str | None
    applies_when: str | None
    note_required: bool

    @property
    def role_label(self) -> str:
        return RUNBOOK_ROLES[self.role][0]


@dataclass(frozen=True)
class Runbook:
    key: str
    applies_to: str
    title: str
    source: str
    summary: str
    relative_to: str
    script: dict[Phase, tuple[str, ...]]
    banner: dict[str, str]
    capture_roles: frozenset[str]
    capture_kinds: frozenset[str]
    steps: tuple[Step, ...]
    path: str
    digest: str  # of the file's bytes: a checklist remembers which version it was made from

    @property
    def callers(self) -> tuple[str, ...]:
        """Return every phase's script in order, each sentence headed by its phase (for the printed kit)."""
        return tuple(f"{PHASE_LABELS[phase]}: {line}" for phase, lines in self.script.items() for line in lines)

    def banner_text(self, roles: frozenset[Role]) -> str:
        """Return what the banner tells a user with these roles to do."""
        for role in (Role.CUSTOMER_SERVICE, Role.HMS_STAFF, Role.PRESCRIBER):
            if role in roles and self.banner.get(role.value):
                return self.banner[role.value]
        return self.banner["default"]

    def permits_capture_without_reserve(self, role_values: frozenset[str], kind: str) -> bool:
        return kind in self.capture_kinds and bool(role_values & self.capture_roles)


def _line_index(text: str) -> dict[tuple, int]:
    """Map table and key paths, e.g. ("steps", 2, "role"), to the line they are written on."""
    index: dict[tuple, int] = {(): 1}
    table: tuple = ()
    counts: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if match := re.match(r"^\[\[\s*([A-Za-z0-9_]+)\s*\]\]", line):
            name = match.group(1)
            counts[name] = counts.get(name, -1) + 1
            table = (name, counts[name])
            index[table] = number
        elif match := re.match(r"^\[\s*([A-Za-z0-9_]+)\s*\]", line):
            table = (match.group(1),)
            index[table] = number
        elif match := re.match(r"^([A-Za-z0-9_-]+)\s*=", line):
            index.setdefault((*table, match.group(1)), number)
    return index


def _line_of(index: dict[tuple, int], loc: tuple) -> int:
    for length in range(len(loc), -1, -1):
        if loc[:length] in index:
            return index[loc[:length]]
    return 1


def _describe(error: dict) -> str:
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]).lstrip(".")
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "literal_error":
        message = f"must be one of {error['ctx']['expected']}"
    return f"{path or 'file'}: {message}"


def load_runbook(path: Path) -> Runbook:
    """Read and validate one runbook file, or raise RunbookError naming the file and line."""
    try:
        raw_bytes = path.read_bytes()
        text = raw_bytes.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RunbookError(path, None, f"cannot be read ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise RunbookError(path, int(match.group(1)) if match else None, f"not valid TOML: {exc}") from None
    try:
        schema = RunbookSchema.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        raise RunbookError(path, _line_of(_line_index(text), tuple(first["loc"])), _describe(first)) from None
    if schema.key != path.stem:
        raise RunbookError(path, _line_of(_line_index(text), ("key",)), f"key {schema.key!r} must equal the file "
                                                                        f"name {path.stem!r}")
    return Runbook(
        key=schema.key, applies_to=schema.applies_to, title=schema.title, source=schema.source,
        summary=schema.summary, relative_to=schema.relative_to,
        script={Phase(phase): tuple(lines) for phase, lines in schema.script.phases().items()},
        banner={k: v for k, v in schema.banner.model_dump().items() if v},
        capture_roles=frozenset(schema.capture.without_reserve_roles),
        capture_kinds=frozenset(schema.capture.without_reserve_kinds),
        steps=tuple(Step(key=s.key, title=s.title, description=s.description, role=s.role,
                         deadline=parse_deadline(s.deadline) if s.deadline else None, record=s.record,
                         automatic=s.automatic, applies_when=s.applies_when, note_required=s.note_required)
                    for s in schema.steps),
        path=str(path), digest=hashlib.sha256(raw_bytes).hexdigest()[:16],
    )


def load_runbooks(directory: Path) -> dict[str, Runbook]:
    """Load every *.toml runbook in the directory; each scenario must have exactly one."""
    if not directory.is_dir():
        raise RunbookError(directory, None, "runbook directory does not exist")
    runbooks: dict[str, Runbook] = {}
    by_target: dict[str, str] = {}
    for path in sorted(directory.glob("*.toml")):
        runbook = load_runbook(path)
        if runbook.applies_to in by_target:
            raise RunbookError(path, _line_of(_line_index(path.read_text("utf-8")), ("applies_to",)),
                               f"{runbook.applies_to!r} already has a runbook ({by_target[runbook.applies_to]})")
        by_target[runbook.applies_to] = path.name
        runbooks[runbook.applies_to] = runbook
    missing = [target for target in APPLIES_TO if target not in runbooks]
    if missing:
        raise RunbookError(directory, None, f"no runbook for {', '.join(missing)}")
    return runbooks

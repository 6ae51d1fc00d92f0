"""Runbooks as data: the shipped files load, and a broken file is refused naming file and line."""
from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from app import create_app
from core.config import TestConfig
from reserve import RUNBOOK_DIR
from reserve.phases import Phase
from reserve.runbooks import APPLIES_TO, RUNBOOK_ROLES, RunbookError, load_runbook, load_runbooks, parse_deadline

GOOD = """\
schema = 1
key = "telephony_disruption"
applies_to = "telephony_disruption"
title = "Störningar i telefonin"
source = "Seed 001"
summary = "Telefonin är störd."
script = { outage = ["Telefonin är störd."], reserve = ["Reservrutin gäller."], resolved = ["Telefonin fungerar."] }

[banner]
default = "Se Driftstatus."

[[steps]]
key = "phone_broadcast"
title = "Lavinmeddelande"
role = "telephony_owner"
deadline = "at once"
record = "Meddelandets text."

[[steps]]
key = "driftinfo"
title = "Driftinfo"
role = "it_staff"
deadline = "30m"
record = "Inlägget."
automatic = "driftinfo_published"
"""


def write(tmp_path: Path, text: str, name: str = "telephony_disruption.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_scenario_of_seed_001_and_the_seed_004_routine_has_a_valid_runbook():
    runbooks = load_runbooks(RUNBOOK_DIR)
    assert set(runbooks) == set(APPLIES_TO)
    main = runbooks["main_server_outage"]
    steps = {s.key: s for s in main.steps}
    assert steps["notify_system_owner"].deadline == timedelta(0)
    assert steps["notify_system_owner"].automatic == "escalation:system_owner"
    assert steps["activate_reserve"].deadline == timedelta(hours=4)
    assert steps["activate_reserve"].role == "system" and steps["publish_reserve"].automatic == "reserve_published"
    assert all(step.record for runbook in runbooks.values() for step in runbook.steps)
    assert runbooks["reserve_routine"].relative_to == "reserve_activated"
    assert main.permits_capture_without_reserve(frozenset({"hms_staff"}), "stock_move")
    assert not main.permits_capture_without_reserve(frozenset({"customer_service"}), "prescription")


def test_texts_shown_to_staff_never_cite_the_source_documents():
    # `source` names the seed for us; checklists, banners and scripts are read by staff on an outage day.
    for runbook in load_runbooks(RUNBOOK_DIR).values():
        shown = [runbook.title, runbook.summary or "", *runbook.banner.values(),
                 *(line for lines in runbook.script.values() for line in lines),
                 *(text for step in runbook.steps for text in (step.title, step.description or ""))]
        cited = [text for text in shown if re.search(r"\bseed\b", text, re.IGNORECASE)]
        assert not cited, f"{runbook.key}: {cited}"


def test_a_good_file_loads_with_its_deadlines(tmp_path):
    runbook = load_runbook(write(tmp_path, GOOD))
    assert [s.deadline for s in runbook.steps] == [timedelta(0), timedelta(minutes=30)]
    assert runbook.steps[0].role_label == RUNBOOK_ROLES["telephony_owner"][0]
    assert len(runbook.digest) == 16


@pytest.mark.parametrize(("change", "line", "words"), [
    (('role = "it_staff"', 'role = "janitor"'), 22, "steps[1].role"),
    (('deadline = "30m"', 'deadline = "soon"'), 23, "steps[1].deadline"),
    (('record = "Inlägget."\n', ''), 19, "steps[1].record: Field required"),
    (('automatic = "driftinfo_published"', 'automatic = "coffee"'), 25, "steps[1].automatic"),
    (('key = "driftinfo"', 'key = "phone_broadcast"'), 1, "used twice"),
    (('applies_to = "telephony_disruption"', 'applies_to = "tuesday"'), 3, "applies_to"),
    (('title = "Störningar i telefonin"\n', ''), 1, "title: Field required"),
    (('record = "Meddelandets text."', 'record = "Meddelandets text."\nwho = "me"'), 18, "steps[0].who"),
    (('key = "telephony_disruption"', 'key = "telefon"'), 2, "must equal the file name"),
])
def test_a_broken_file_is_refused_with_file_line_and_field(tmp_path, change, line, words):
    old, new = change
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(RunbookError) as caught:
        load_runbook(path)
    assert caught.value.path == str(path) and caught.value.line == line, str(caught.value)
    assert words in str(caught.value) and f"{path}, line {line}:" in str(caught.value)


@pytest.mark.parametrize(("change", "words"), [
    ((', resolved = ["Telefonin fungerar."] ', ' '), "script: phase resolved needs at least one sentence"),
    (('reserve = ["Reservrutin gäller."]', 'reserve = []'), "script: phase reserve needs at least one sentence"),
    (('outage = ["Telefonin är störd."]', 'outage = ["Störd."], recovering = ["Åter."]'),
     "script: phase recovering does not occur in this scenario"),
    (('outage = [', 'during = ['), "script.during"),
])
def test_a_script_must_cover_exactly_the_scenarios_phases(tmp_path, change, words):
    old, new = change
    assert old in GOOD
    with pytest.raises(RunbookError, match=words) as caught:
        load_runbook(write(tmp_path, GOOD.replace(old, new, 1)))
    assert caught.value.line in (1, 7)


def test_every_scenario_has_one_script_per_phase_and_no_sentence_is_said_in_two_phases():
    runbooks = load_runbooks(RUNBOOK_DIR)
    main = runbooks["main_server_outage"]
    assert list(main.script) == list(Phase)  # suspected, outage, reserve, recovering, resolved
    assert "Förskrivare ombeds avvakta" in " ".join(main.script[Phase.OUTAGE])
    assert not any("avvakta" in line for line in main.script[Phase.RESERVE])
    assert runbooks["reserve_routine"].script == {}  # its phase is the scenario's "reserve"
    for runbook in runbooks.values():
        lines = [line for phase_lines in runbook.script.values() for line in phase_lines]
        assert len(lines) == len(set(lines)), runbook.key
    assert main.callers[0].startswith("Misstänkt störning: ")  # the printed kit heads each with its phase


def test_a_toml_syntax_error_names_its_line(tmp_path):
    path = write(tmp_path, GOOD.replace('title = "Lavinmeddelande"', 'title = "Lavinmeddelande'))
    with pytest.raises(RunbookError) as caught:
        load_runbook(path)
    assert caught.value.line == 14 and "not valid TOML" in caught.value.message


def test_a_system_step_must_name_its_event(tmp_path):
    path = write(tmp_path, GOOD.replace('role = "telephony_owner"', 'role = "system"'))
    with pytest.raises(RunbookError, match=r"line 12: steps\[0\]: a step with role \"system\""):
        load_runbook(path)


def test_every_scenario_needs_exactly_one_runbook(tmp_path):
    write(tmp_path, GOOD)
    with pytest.raises(RunbookError, match="no runbook for full_regional_outage"):
        load_runbooks(tmp_path)
    for path in RUNBOOK_DIR.glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "telefoni.toml").write_text(GOOD.replace('key = "telephony_disruption"', 'key = "telefoni"'))
    with pytest.raises(RunbookError, match="already has a runbook"):
        load_runbooks(tmp_path)


def test_the_app_refuses_to_start_with_a_broken_runbook(tmp_path):
    for path in RUNBOOK_DIR.glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    broken = tmp_path / "main_server_outage.toml"
    broken.write_text(broken.read_text(encoding="utf-8").replace('role = "customer_service"', 'role = "nobody"', 1),
                      encoding="utf-8")

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = "sqlite://"
        RESERVE_RUNBOOK_DIR = str(tmp_path)

    with pytest.raises(RunbookError) as caught:
        create_app(Config)
    assert str(broken) in str(caught.value) and ", line " in str(caught.value) and "role" in str(caught.value)


@pytest.mark.parametrize(("text", "minutes"), [("at once", 0), ("30m", 30), ("4h", 240), ("4h 15m", 255),
                                               ("90 min", 90)])
def test_deadlines_read_as_offsets_from_the_outage_start(text, minutes):
    assert parse_deadline(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "soon", "4 days", "-1h", "h"])
def test_bad_deadlines_are_refused(text):
    with pytest.raises(ValueError):
        parse_deadline(text)

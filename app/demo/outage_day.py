"""The outage day in a few minutes: `make demo-outage` (`python -m app.demo.outage_day`).

Starts the whole product on SQLite in a folder of its own (app.demo.stack), prints where to
watch it, then plays one day through the JSON API as its users would: a prescriber prescribes,
the main server dies, the status page shows the outage, four hours pass without a prognosis on
an accelerated clock, the monitor activates the reserve routine, customer service captures what
is phoned in (and refuses an e-mail with a personnummer), the main server returns, hms_staff
approve the captured items, the sync engine in the monitor back-registers them, IT staff end
the reserve routine, and the incident's reconciliation is checked against the main server.

The last line is the incident's balance:

    reconciliation: <N> captured, <N> registered, <M> missing

`captured` is the report's captured (sync/reconciliation.py `build`); `registered` is its
registered + resolved + cancelled, where a registered or resolved item counts only when the main
server holds it exactly once under the id the report names (its GET /admin/registrations); a
reserve number customer service gave out that no such record carries counts as missing, and as
captured if the report left it out; `missing` = captured − registered. The exit status is 0
only when nothing is missing.

Options: --keep-running (browse afterwards, Ctrl-C stops), --pause, --patients, --speed,
--directory (default instance/demo-outage/, wiped at start).
"""
from __future__ import annotations

import argparse
import math
import shutil
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType

import requests

from app.demo.api_user import PASSWORD, ApiUser, DemoFailed
from app.demo.stack import ROOT, Stack, wait_until

DEFAULT_DIRECTORY = ROOT / "instance" / "demo-outage"
CLOCK_SPEED = 600.0  # four simulated hours pass in 24 real seconds
PATIENT_PREFIX = "19"  # the prescriber searches by the first digits of a personnummer
PRODUCT_AREA = "inkontinens"
ARTICLE_SEARCH = "slip"
STOCK_MOVE_UNIT = "420107"  # Hemsjukvården Lund: owns municipal stock 105 (app/demo/reference.py)


@dataclass
class Day:
    """The day's stack, its users and what the steps learn along the way."""

    stack: Stack
    speed: float = CLOCK_SPEED
    started_at: datetime | None = None
    users: dict[str, ApiUser] = field(default_factory=dict)
    patients: list[dict] = field(default_factory=list)
    unit: str = ""  # the prescriber's care unit (customer number)
    articles: list[str] = field(default_factory=list)
    incident_id: int | None = None
    reserve_numbers: list[str] = field(default_factory=list)  # what customer service told the callers

    def user(self, username: str) -> ApiUser:
        if username not in self.users:
            self.users[username] = ApiUser(self.stack.web_url, username)
        return self.users[username]

    def say(self, text: str) -> None:
        """Print one line of the day, stamped with the simulated time since it began."""
        minutes = int((self.stack.now() - self.started_at).total_seconds() // 60) if self.started_at else 0
        print(f"[T+{minutes // 60:02d}:{minutes % 60:02d}] {text}", flush=True)


# --- the steps -----------------------------------------------------------------------------------

def prescribe(day: Day) -> None:
    """A prescriber searches patients by the first digits of a personnummer and prescribes two articles."""
    prescriber = day.user("prescriber")
    found = prescriber.get("/patients", q=PATIENT_PREFIX)
    day.patients = found["patients"]
    unit = prescriber.get("/prescribing/options")["units"][PRODUCT_AREA][0]
    day.unit = unit["customer_number"]
    day.articles = [a["number"] for a in prescriber.get("/articles", q=ARTICLE_SEARCH)["articles"]
                    if a["product_area"] == PRODUCT_AREA][:3]
    if len(day.patients) < 2 or len(day.articles) < 3:
        raise DemoFailed(f"the demo data has too few patients ({len(day.patients)}) or articles ({day.articles})")
    rows = [{"article_number": day.articles[0], "withdrawals": 4, "pieces_per_day": "3"},
            {"article_number": day.articles[1], "withdrawals": 4, "pieces_per_day": "2,5"}]
    prescription = prescriber.post("/prescriptions", {"patient_id": day.patients[0]["id"],
                                                      "product_area": PRODUCT_AREA, "unit_id": unit["id"],
                                                      "rows": rows})
    day.say(f"prescriber searched {PATIENT_PREFIX}… ({found['total']} patients) and prescribed 2 articles "
            f"at {unit['name']}: prescription {prescription['number']}")


def see_it_registered(day: Day) -> None:
    """In normal operation the sync engine registers the prescription at the main server within seconds."""
    hms = day.user("hms_staff")
    item = wait_until(lambda: next(iter(hms.get("/sync/items", kind="prescription", state="acked")["items"]), None),
                      30, "the prescription to be registered at the main server")
    day.say(f"main server registered the prescription as {item['server_id']}")


def kill_main_server(day: Day) -> None:
    """Kill the main server as a crash would."""
    day.stack.kill("main")
    day.say("main server killed (SIGKILL)")


def see_outage(day: Day) -> None:
    """The monitor confirms the outage and the public status page shows it, with the reserve countdown."""
    status = wait_until(lambda: _with_outage(day.stack.status()), 30, "the outage on the status page")
    day.incident_id = status["reserve"]["incident_id"]
    incident = next(i for i in status["incidents"] if i["id"] == day.incident_id)
    day.say(f"status page: {status['overall']['text']} – {incident['title']} (incident {day.incident_id}); "
            f"{status['reserve']['text']}")


def _with_outage(status: dict) -> dict | None:
    return status if status["overall"]["state"] == "outage" and status["reserve"]["incident_id"] else None


def let_four_hours_pass(day: Day) -> None:
    """Run the clock fast, with no prognosis, printing the countdown; land on the deadline at real speed."""
    day.stack.set_clock_speed(day.speed)
    day.say(f"no prognosis is published; the clock now runs {day.speed:g}× as fast")
    shown: set[int] = set()

    def nearly_due() -> dict | None:
        reserve = day.stack.status()["reserve"]
        left = reserve["seconds_until_automatic_activation"]
        if reserve["applies"] or left is None or left < day.speed:  # under a real second to go
            return reserve
        if math.ceil(left / 3600) not in shown:
            shown.add(math.ceil(left / 3600))
            day.say(f"status page: reserve routine activates automatically in {_duration(left)}")
        return None

    reserve = wait_until(nearly_due, 4 * 3600 / day.speed + 30, "the four hours to pass", every=0.1)
    day.stack.advance_clock(timedelta(seconds=max(reserve["seconds_until_automatic_activation"] or 0, 0)),
                            speed=1)
    wait_until(lambda: day.stack.status()["reserve"]["applies"], 15, "the monitor to activate the reserve routine")


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"


def see_reserve_routine(day: Day) -> None:
    """The reserve routine applies, activated by the system, and its automatic checklist steps are ticked."""
    reserve = day.user("customer_service").get("/reserve")
    checklists = day.user("customer_service").get("/reserve/checklists", incident_id=day.incident_id)["checklists"]
    ticked = [step["key"] for checklist in checklists for step in checklist["steps"] if step["done_by"] == "system"]
    if not reserve["active"] or reserve["activated_by"] != "system":
        raise DemoFailed(f"the reserve routine is not active by the system: {reserve}")
    day.say(f"reserve routine activated automatically (checklist: {len(ticked)} steps ticked by system: "
            f"{', '.join(ticked)})")


def _capture(day: Day, item: dict) -> dict:
    """Customer service captures one item in reserve mode; the caller is told its reserve number."""
    captured = day.user("customer_service").post("/reserve/items", item)
    day.reserve_numbers.append(captured["reserve_number"])
    return captured


def capture_acute_prescription(day: Day) -> None:
    """Customer service captures an acute prescription phoned in by the prescriber, and logs the call."""
    item = _capture(day, {"kind": "prescription", "channel": "phone", "patient": day.patients[1]["personnummer"],
                          "unit": day.unit, "article": day.articles[2], "packages": 2,
                          "responsible_prescriber": "prescriber", "note": "Akut behov, ringt in av förskrivaren."})
    day.user("customer_service").post("/reserve/calls", {"caller_type": "prescriber", "topic": "prescription",
                                                         "outcome": "captured", "item": item["reserve_number"]})
    day.say(f"customer service captured a phoned-in acute prescription: {item['reserve_number']} (call logged)")


def capture_stock_move(day: Day) -> None:
    """Customer service captures a stock move to a municipal stock; stock moves head the work queue."""
    item = _capture(day, {"kind": "stock_move", "channel": "phone", "unit": STOCK_MOVE_UNIT,
                          "article": day.articles[0], "packages": 10})
    queue = day.user("customer_service").get("/reserve/items", incident_id=day.incident_id)["items"]
    day.say(f"customer service captured a stock move: {item['reserve_number']} (work queue: "
            f"{' → '.join(i['reserve_number'] for i in queue)})")


def refuse_emailed_personal_data(day: Day) -> None:
    """An e-mailed order naming a patient's personnummer is refused: patients' matters are phoned in."""
    answer = day.user("customer_service").request("POST", "/reserve/items", expect=(422,), json={
        "kind": "order", "channel": "email", "unit": STOCK_MOVE_UNIT, "article": day.articles[1], "packages": 2,
        "note": f"Till {day.patients[1]['personnummer']}, akut."})
    error = answer["error"]["errors"][0]
    day.say(f"an e-mailed order with a personnummer was refused (422, {error['field']}: {error['message']})")


def restart_main_server(day: Day) -> None:
    """Start the main server again on its own store: what it registered before is still there."""
    day.stack.start_main_server()
    day.say("main server restarted")


def see_main_server_up(day: Day) -> None:
    """The monitor sees the main server answer again and confirms it up."""
    wait_until(lambda: _component_state(day.stack.status(), "main_server") == "up", 60,
               "the monitor to see the main server up")
    day.say("status page: main server up again (the reserve routine applies until IT confirms the return)")


def _component_state(status: dict, key: str) -> str | None:
    return next((c["state"] for c in status["components"] if c["key"] == key), None)


def approve_captured_items(day: Day) -> None:
    """hms_staff approve the items captured during the incident (the review gate) so they are sent."""
    hms = day.user("hms_staff")
    waiting = [i for i in hms.get("/sync/items", state="review")["items"] if i["incident_id"] == day.incident_id]
    for item in waiting:
        hms.post(f"/sync/items/{item['key']}/approve", {"note": "Kontrollerad mot samtalsloggen."})
    day.say(f"hms_staff approved {len(waiting)} captured items ({', '.join(i['kind'] for i in waiting)})")


def see_back_registration(day: Day) -> None:
    """The sync engine in the monitor sends the approved items; wait until the incident balances (or not)."""
    hms = day.user("hms_staff")
    try:
        wait_until(lambda: hms.get(f"/sync/reconciliation/{day.incident_id}")["balance"]["balanced"], 60,
                   "the incident's items to be back-registered")
    except TimeoutError as exc:
        day.say(f"back-registration did not finish: {exc}")
    progress = hms.get("/sync/progress")
    day.say(f"back-registration: {progress['percent_done']:g} % done, {progress['backlog']} to send, "
            f"{progress['waiting_for_people']} waiting for people")


def see_work_queue_registered(day: Day) -> None:
    """Customer service opens the checklist (its back-registration step ticks itself) and the work queue."""
    service = day.user("customer_service")
    steps = [step for checklist in service.get("/reserve/checklists", incident_id=day.incident_id)["checklists"]
             for step in checklist["steps"] if step["automatic"] == "items_registered"]
    queue = service.get("/reserve/items", incident_id=day.incident_id)["items"]
    registered = [item["reserve_number"] for item in queue if item["registered_at"]]
    ticked = ", ".join(f"“{step['title']}” {step['state']} by {step['done_by']}" for step in steps)
    day.say(f"checklist: {ticked}; work queue: {len(registered)} of {len(queue)} items marked registered")


def end_reserve_routine(day: Day) -> None:
    """IT staff confirm the return to normal once the items are back-registered; the reserve routine ends."""
    day.user("it_staff").post("/reserve/deactivate",
                              {"reason": "Huvudservern fungerar igen; allt är efterregistrerat."})
    day.say(f"it_staff confirmed the return to normal; status page: {day.stack.status()['overall']['text']}")


def reconcile(day: Day) -> tuple[int, int]:
    """Check the incident's reconciliation against the main server; return (captured, registered)."""
    report = day.user("hms_staff").get(f"/sync/reconciliation/{day.incident_id}", verify="true")
    balance, lines = report["balance"], report["lines"]
    day.say(f"reconciliation of incident {day.incident_id}: {balance['captured']} captured = "
            f"{balance['registered']} registered + {balance['resolved']} resolved + {balance['cancelled']} "
            f"cancelled, {balance['outstanding']} outstanding (checked at the main server: {report['verified']})")
    registrations = day.stack.main_server_registrations()
    keys, ids = Counter(r["key"] for r in registrations), Counter(r["id"] for r in registrations)
    settled = [line for line in lines if _held_once(line, keys, ids)]
    forms = {_form_number(day.stack, line["server_id"]) for line in settled if line["server_id"]}
    absent = [number for number in day.reserve_numbers if number not in forms]
    once = "each once" if max(keys.values(), default=0) <= 1 else "SOME MORE THAN ONCE"
    held = [number for number in day.reserve_numbers if number not in absent]
    day.say(f"main server: {len(registrations)} registrations under {len(keys)} keys ({once}); {len(settled)} of "
            f"the {len(lines)} captured items held once or cancelled; reserve numbers held: {', '.join(held) or '-'}")
    for line in lines:
        if line not in settled:
            day.say(f"  missing: {line['kind']} {line['key']} ({line['final_state']}; {line['difference']})")
    for number in absent:
        day.say(f"  missing at the main server: reserve item {number}")
    # A reserve number the main server lacks is missing even if the report left its item out altogether.
    unreported = max(0, len(absent) - (len(lines) - len(settled)))
    return len(lines) + unreported, len(settled)


def _held_once(line: dict, keys: Counter, ids: Counter) -> bool:
    """Return whether a reconciliation line is settled: cancelled, or held exactly once by the main server."""
    if line["outcome"] == "cancelled":
        return True
    if line["outcome"] == "registered":
        return keys[line["final_key"]] == 1 and ids[line["server_id"]] == 1
    return line["outcome"] == "resolved" and ids[line["server_id"]] >= 1  # linked to a record the server had


def _form_number(stack: Stack, record_id: str) -> str | None:
    """Return the reserve number (form number) of a record the main server holds."""
    answer = requests.get(f"{stack.main_url}/api/v1/records/{record_id}", timeout=5)
    return answer.json()["payload"].get("form_number") if answer.ok else None


STEPS = (prescribe, see_it_registered, kill_main_server, see_outage, let_four_hours_pass, see_reserve_routine,
         capture_acute_prescription, capture_stock_move, refuse_emailed_personal_data, restart_main_server,
         see_main_server_up, approve_captured_items, see_back_registration, see_work_queue_registered,
         end_reserve_routine)


def run_day(stack: Stack, speed: float = CLOCK_SPEED) -> tuple[int, int]:
    """Play the outage day on a running stack; return (captured, registered) of its reconciliation."""
    day = Day(stack, speed)
    day.started_at = stack.now()
    for step in STEPS:
        step(day)
    return reconcile(day)


# --- the command ---------------------------------------------------------------------------------

def fresh_directory(path: Path) -> Path:
    """Return the folder emptied: only an earlier demo's folder (it holds clock.json) is ever wiped."""
    path = path.resolve()
    if path.exists() and any(path.iterdir()):
        if not (path / "clock.json").exists():
            raise SystemExit(f"{path} holds files but no earlier demo; choose another --directory")
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def show_where_to_watch(stack: Stack, pause: float) -> None:
    """Print the pages to open and give a person `pause` seconds to open them."""
    print(f"""
The product is running (web app, monitor with the sync engine, reference main server):
  status page (public)         {stack.web_url}/status
  customer service view        {stack.web_url}/reserv/kundservice   log in as customer_service / {PASSWORD}
  back-registration            {stack.web_url}/efterregistrering    log in as hms_staff / {PASSWORD}
  other demo accounts          prescriber, technician, it_staff, admin (password {PASSWORD})
""", flush=True)
    if pause > 0:
        print(f"The outage day starts in {pause:g} s …\n", flush=True)
        time.sleep(pause)


def _stop_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through `finally`, which stops the processes


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m app.demo.outage_day", description=__doc__.split("\n\n")[0])
    parser.add_argument("--directory", type=Path, default=DEFAULT_DIRECTORY,
                        help="the demo's folder, wiped at start (default: instance/demo-outage)")
    parser.add_argument("--patients", type=int, default=200, help="demo patients to seed (default: 200)")
    parser.add_argument("--pause", type=float, default=10.0,
                        help="seconds to open the pages before the day starts (default: 10)")
    parser.add_argument("--speed", type=float, default=CLOCK_SPEED,
                        help=f"clock speed while waiting for the four-hour rule (default: {CLOCK_SPEED:g})")
    parser.add_argument("--keep-running", action="store_true",
                        help="leave everything running at the end for browsing, until Ctrl-C")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Start the product, play the day, print the reconciliation; return 0 only when nothing is missing."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    stack = Stack(fresh_directory(args.directory), patients=args.patients)
    print(f"Starting the product in {stack.directory} (SQLite, {args.patients} demo patients) …", flush=True)
    started = time.monotonic()
    try:
        stack.start()
        show_where_to_watch(stack, args.pause)
        captured, registered = run_day(stack, args.speed)
        print(f"\nDone in {time.monotonic() - started:.0f} s of real time, start-up included.", flush=True)
        if args.keep_running:
            print(f"Still running for browsing ({stack.web_url}); Ctrl-C stops everything.", flush=True)
        print(f"reconciliation: {captured} captured, {registered} registered, {captured - registered} missing",
              flush=True)
        if args.keep_running:
            _wait_for_ctrl_c()
        return 0 if captured == registered else 1
    except (DemoFailed, TimeoutError, requests.RequestException) as exc:
        print(f"\ndemo-outage failed: {exc}\n\n{stack.logs()}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        stack.stop()


def _wait_for_ctrl_c() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())

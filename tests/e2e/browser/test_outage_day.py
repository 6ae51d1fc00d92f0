"""The whole outage day in a real browser: prescribing, the outage, the reserve routine, back-registration.

Its own installation (the main server is killed and the clock jumps four hours), on the
shared simulated clock of app.demo.stack.
"""
from __future__ import annotations

import io
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from app.demo.stack import FAST_SETTINGS, Stack, wait_until
from tests.e2e.browser.conftest import OUTPUT, _start_stack, assert_accessible, log_in, shoot, wait_for_mail

ARTICLES = (("Byxskydd Extra stl M, Vila", "3", "19"),  # 3 st/day × 90 days / 14 st per package → 19
            ("Byxskydd Extra stl L, Vila", "2,5", "14"))  # 2.5 × 90 / 16 → 14
PHONED_IN_ARTICLE = "333055"  # Byxskydd Extra stl M, Comfa (the demo catalogue is seeded)
PRESCRIBING_UNIT = "Vårdcentralen Norra Fäladen (410215)"  # one of the prescriber's units
MUNICIPAL_UNIT = "Hemsjukvården Lund (420107)"  # has a municipal stock
AUTOMATIC_STEPS = ("Anmäl driftstörningen till systemansvarig", "SA är inte i tjänst: kontakta enhetschef",
                   "SA är inte i tjänst: skapa en incident hos Servicedesk", "Kontakta systemleverantören",
                   "Aktivera reservrutin", "Publicera att reservrutin gäller")
REGISTERED_WITH_ID = re.compile(r"[Rr]egistrerad (i huvudsystemet )?[\d-]+ [\d:]+ CES?T \(id \w+\)")


SYSTEM_OWNER = "sa@region.example"
ESCALATION = {"system_owner": SYSTEM_OWNER, "system_owner_manager": "sa-chef@region.example",
              "servicedesk": "servicedesk@region.example", "supplier": "support@leverantor.example"}


@pytest.fixture(scope="module")
def outage_stack(tmp_path_factory: pytest.TempPathFactory, mail_server: Controller) -> Iterator[Stack]:
    """An installation of its own; escalation mail goes to the loopback SMTP server, the SA is off duty."""
    settings = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(mail_server.port),
                "STATUS_ESCALATION_RECIPIENTS": json.dumps(ESCALATION), "STATUS_ON_DUTY": '{"weekdays": []}'}
    yield from _start_stack(tmp_path_factory.mktemp("outage-day"), "outage", settings)


def detection_bound_seconds() -> float:
    """Interval + 3 × retry interval + probe timeout (the issue's bound), in the stack's settings."""
    timeout = float(FAST_SETTINGS["STATUS_PROBE_CONNECT_TIMEOUT"]) + float(FAST_SETTINGS["STATUS_PROBE_READ_TIMEOUT"])
    return (float(FAST_SETTINGS["STATUS_PROBE_INTERVAL_SECONDS"])
            + 3 * float(FAST_SETTINGS["STATUS_RETRY_INTERVAL_SECONDS"]) + timeout)


def prescribe_two_articles(page: Page) -> tuple[str, str, str]:
    """Search by prefix, prescribe two articles by pieces per day; return (number, patient name, personnummer)."""
    page.goto("/patient/")
    assert_accessible(page)
    page.get_by_label("Personnummer").fill("1920")
    page.get_by_role("button", name="Sök", exact=True).click()
    numbers = page.locator("table.data tbody tr td:first-child").all_inner_texts()
    assert numbers and all(n.startswith("1920") for n in numbers)
    page.locator("table.data tbody a").first.click()
    page.get_by_role("link", name="Ny förskrivning").click()
    heading = page.get_by_role("heading", level=1).inner_text()
    name, personnummer = re.match(r"Ny förskrivning – (.+) (\d{12})$", heading).groups()
    page.get_by_label("Inkontinens").check()
    page.locator("#typ").get_by_role("button", name="Välj").click()
    page.get_by_label("Enhet (kund)").select_option(index=1)
    page.locator("#enhet").get_by_role("button", name="Välj").click()
    for article, per_day, packages in ARTICLES:
        page.get_by_label("Artikelnummer eller del av benämning").fill(article)
        page.get_by_role("button", name="Sök artikel").click()
        page.locator("#artikel table tbody tr").first.get_by_role("link", name="Välj").click()
        assert_accessible(page)
        page.get_by_role("radio", name="Antal st per dag").check()
        page.get_by_role("textbox", name="Antal st per dag").fill(per_day)
        page.get_by_role("button", name="Lägg till rad").click()
        row = page.locator("#rader tbody tr", has_text=article)
        expect(row.locator("td").nth(1)).to_have_text(packages)  # the quantity calculation
    page.get_by_role("button", name="Spara förskrivning").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(r"Förskrivning \d{9}"))
    return heading.inner_text().split()[-1], name, personnummer


def receipt_text(page: Page) -> str:
    # Fetched with the browser's own session: chromium would open an inline PDF in its viewer.
    link = page.get_by_role("link", name="Skriv ut förskrivningskvitto (PDF)").get_attribute("href")
    response = page.request.get(link)
    assert response.ok and response.headers["content-type"] == "application/pdf"
    content = response.body()
    assert content.startswith(b"%PDF")
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)


def capture(page: Page, slug: str, channel: str, **fields: str) -> Page:
    page.goto(f"/reserv/registrera/{slug}")
    assert_accessible(page)
    page.get_by_label(channel, exact=True).check()
    for label, value in fields.items():
        target = page.get_by_label(label, exact=True)
        if target.evaluate("e => e.tagName") == "SELECT":
            target.select_option(index=int(value)) if value.isdigit() else target.select_option(label=value)
        else:
            target.fill(value)
    page.locator("main form button[type=submit]").click()
    return page


def shoot_outage(page: Page, name: str) -> None:
    """Keep a screenshot of what the person sees, to look at after the run."""
    shoot(page, f"outage-day/{name}")


def open_overview(page: Page, personnummer: str) -> None:
    page.goto("/patient/")
    page.get_by_label("Personnummer").fill(personnummer)
    page.get_by_role("button", name="Sök", exact=True).click()
    if not re.search(r"/patient/\d+", page.url):
        page.locator("table.data tbody a").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(personnummer)


DRIFTINFO_TITLE = "Huvudsystemet går inte att nå"


def test_the_outage_day(outage_stack: Stack, new_page, inbox) -> None:  # noqa: ANN001
    stack = outage_stack

    # Morning: a prescriber prescribes two articles and prints the receipt.
    prescriber = new_page(stack.web_url)
    log_in(prescriber, "prescriber")
    _, patient_name, personnummer = prescribe_two_articles(prescriber)
    assert patient_name in receipt_text(prescriber)

    # What the main server has before the outage: the demo data's prescriptions and the morning's.
    wait_until(lambda: not _unregistered(stack), 60, "the morning's registrations")
    before = {r["key"] for r in stack.main_server_registrations()}

    # The main server dies; the status page shows it within the detection bound.
    public = new_page(stack.web_url)
    stack.kill("main")
    killed = time.monotonic()
    public.goto("/status")
    assert_accessible(public)
    incident = wait_until(lambda: stack.status()["incidents"], 30, "the outage on the status page", every=0.25)[0]
    detected = time.monotonic() - killed
    print(f"outage on the status page {detected:.1f} s after the kill (bound {detection_bound_seconds():.1f} s)")
    # + one monitor tick (probes are started by it) and slack for a loaded 2-core machine
    assert detected <= detection_bound_seconds() + float(FAST_SETTINGS["STATUS_TICK_SECONDS"]) + 3
    public.reload()
    expect(public.locator("main")).to_contain_text(incident["title"])
    assert stack.status()["reserve"]["applies"] is False

    # Four hours pass with no prognosis: the monitor activates the reserve routine.
    stack.advance_clock(timedelta(hours=4, minutes=1))
    wait_until(lambda: stack.status()["reserve"]["applies"], 30, "automatic activation of the reserve routine")
    public.reload()
    expect(public.locator("main")).to_contain_text("Reservrutin gäller")

    agent = new_page(stack.web_url)
    log_in(agent, "customer_service")
    banner = agent.get_by_role("alert").filter(has_text="Reservrutin")
    expect(banner).to_be_visible()
    agent.goto("/reserv/kundservice")
    expect(agent.get_by_role("alert").filter(has_text="Reservrutin")).to_be_visible()
    agent.goto("/reserv/")
    agent.locator("#checklistor a").first.click()

    def automatic_steps_left() -> list[str]:  # the monitor's jobs tick them within a second or two
        agent.reload()
        ticked = agent.locator("tbody tr").filter(has_text=re.compile(r"\bsystem, ")).all_inner_texts()
        return [step for step in AUTOMATIC_STEPS if not any(step in row for row in ticked)]

    wait_until(lambda: not automatic_steps_left(), 20, "the automatic checklist steps", every=0.5)
    notice = wait_for_mail(inbox, SYSTEM_OWNER)
    assert personnummer not in str(notice["Subject"]) + notice.get_content()

    # IT staff publish driftinfo for everyone; they see no patient data.
    it = new_page(stack.web_url)
    log_in(it, "it_staff")
    assert it.request.get("/patient/").status == 403
    it.goto("/status/hantera")
    assert_accessible(it)
    it.locator("#driftinfo").get_by_label("Rubrik").fill(DRIFTINFO_TITLE)
    it.locator("#driftinfo").get_by_label("Text").fill("Felsökning pågår. Akuta förskrivningar tas emot av Kundservice.")
    it.get_by_role("button", name="Publicera driftinfo").click()
    public.goto("/status")
    expect(public.locator("#driftinfo")).to_contain_text(DRIFTINFO_TITLE)

    # Customer service captures a phoned-in acute prescription and a stock move.
    capture(agent, "forskrivning", "Telefon", **{
        "Patientens personnummer": personnummer, "Enhet (kund)": PRESCRIBING_UNIT,
        "Artikelnummer": PHONED_IN_ARTICLE, "Antal förpackningar": "3", "Ansvarig förskrivare": "1"})
    expect(agent.locator(".flash").first).to_contain_text("registrerad med reservnummer")
    prescription_item = agent.get_by_role("heading", level=1).inner_text().split()[-1]
    capture(agent, "lagerflytt", "Telefon", **{"Enhet (kund)": MUNICIPAL_UNIT, "Artikelnummer": PHONED_IN_ARTICLE,
                                               "Antal förpackningar": "10"})
    expect(agent.locator(".flash").first).to_contain_text("registrerad med reservnummer")
    stock_move_item = agent.get_by_role("heading", level=1).inner_text().split()[-1]

    # Customer service reads only the reserve routine's script; the prescriber finds the phoned-in
    # prescription in the patient's overview, marked with its reserve number.
    agent.goto("/reserv/kundservice")
    script = agent.locator("#manus")
    expect(script).to_have_attribute("data-phase", "reserve")
    expect(script).to_contain_text("reservrutinen gäller")
    expect(script).not_to_contain_text("Förskrivare ombeds avvakta")
    shoot_outage(agent, "1-kundservice-reservrutin")
    log_in(prescriber, "prescriber")  # four idle hours ended her morning session (idle timeout 30 min)
    open_overview(prescriber, personnummer)
    pending = prescriber.locator("#aktiva-rader tbody tr", has_text=prescription_item)
    expect(pending).to_contain_text("Väntar på registrering")
    shoot_outage(prescriber, "2-forskrivare-vantar-pa-registrering")

    # An e-mailed order carrying a personnummer is refused: phone it in.
    capture(agent, "bestallning", "E-post", **{
        "Enhet (kund)": PRESCRIBING_UNIT, "Artikelnummer": PHONED_IN_ARTICLE, "Antal förpackningar": "1",
        "Anteckning": f"Till {personnummer}, leverans på fredag"})
    expect(agent.locator("main .error", has_text="Be avsändaren ringa in")).to_be_visible()
    agent.goto("/reserv/arenden")
    expect(agent.locator("main")).to_contain_text(prescription_item)
    assert agent.locator("main tbody tr").count() == 2

    # The main server returns; HMS approves the manual items; the sync engine registers everything.
    stack.start_main_server()
    wait_until(lambda: _state_of(stack, "main_server") == "up", 30, "the monitor to see the server up")
    hms = new_page(stack.web_url)
    log_in(hms, "hms_staff")
    review_queue_filter_correct_and_approve(hms, stock_move_item, prescription_item)
    wait_until(lambda: not _unregistered(stack), 60, "the outbox to drain")

    hms.goto(f"/efterregistrering/avstamning/{incident['id']}")
    caption = hms.locator("main table caption").first.inner_text()
    assert caption == "2 = 2 + 0 + 0 – balanserar", caption

    registrations = stack.main_server_registrations()
    assert len({r["key"] for r in registrations}) == len(registrations)
    kinds = Counter(r["kind"] for r in registrations if r["outcome"] == "created" and r["key"] not in before)
    assert kinds == {"prescription": 1, "stock_move": 1}, kinds  # the phoned-in ones
    for item in (prescription_item, stock_move_item):
        hms.goto(f"/reserv/arenden/{item}")
        expect(hms.locator("main dl")).to_contain_text(REGISTERED_WITH_ID)

    # Registered: an ordinary active row with the main server's id, a receipt and copy/correct.
    prescriber.reload()
    registered = prescriber.locator("#aktiva-rader tbody tr", has_text=f"reservnr {prescription_item}")
    expect(registered).to_contain_text(re.compile(r"huvudsystemet \w+"))
    expect(registered).not_to_contain_text("Väntar på registrering")
    expect(registered.locator("input[type=checkbox]")).to_be_visible()
    receipt = prescriber.request.get(registered.get_by_role("link", name="Kvitto").get_attribute("href"))
    assert receipt.ok and receipt.body().startswith(b"%PDF")
    shoot_outage(prescriber, "3-forskrivare-registrerad-rad")
    agent.goto("/reserv/kundservice")
    expect(agent.locator("#manus")).to_have_attribute("data-phase", "recovering")

    # A work order for the technicians: the technician finds it under "Arbetsordrar" and takes it.
    capture(agent, "arbetsorder", "Telefon", **{"Ansvarig förskrivare": "1", "Arbetsordertyp": "Reparation",
                                                "Anteckning": "Rullstolens broms tar inte"})
    expect(agent.locator(".flash").first).to_contain_text("registrerad med reservnummer")
    work_order_item = agent.get_by_role("heading", level=1).inner_text().split()[-1]
    technician = new_page(stack.web_url)
    log_in(technician, "technician")
    technician.get_by_role("navigation", name="Flikar").get_by_role("link", name="Arbetsordrar").click()
    assert_accessible(technician)
    row = technician.locator("#arbetsordrar tbody tr", has_text=work_order_item)
    expect(row).to_contain_text("Reparation")
    expect(row).to_contain_text("Ej tilldelad")
    row.get_by_role("button", name="Ta arbetsordern").click()
    expect(technician.locator("#arbetsordrar tbody tr", has_text=work_order_item)).to_contain_text(
        "Tagen av Erik Svensson")
    shoot_outage(technician, "4-tekniker-arbetsordrar")

    # IT end the reserve routine and close the notice with it: no outage notice under the all-clear.
    it.goto("/status/hantera")
    reserve_form = it.locator("#reservrutin form")
    expect(reserve_form.get_by_label(DRIFTINFO_TITLE)).to_be_checked()  # offered for closing, ticked
    reserve_form.get_by_label("Skäl / bekräftelse").fill("Huvudsystemet fungerar och allt är efterregistrerat.")
    reserve_form.get_by_role("button", name="Avsluta reservrutinen").click()
    expect(it.get_by_role("heading", name="Avsluta reservrutinen?")).to_be_visible()
    shoot_outage(it, "4-it-bekraftar-avslut-av-reservrutinen")
    it.get_by_role("button", name="Ja, avsluta reservrutinen").click()
    wait_until(lambda: stack.status()["overall"]["state"] == "operational", 30, "the all-clear")
    assert stack.status()["driftinfo"] == []
    public.goto("/status")
    expect(public.locator("main")).to_contain_text("Alla system i drift")
    expect(public.locator("#driftinfo")).not_to_contain_text(DRIFTINFO_TITLE)
    expect(public.locator("#tidigare-driftinfo")).to_contain_text(DRIFTINFO_TITLE)
    shoot_outage(public, "5-statussidan-efter-driftstorningen")


def review_queue_filter_correct_and_approve(hms: Page, stock_move_item: str, prescription_item: str) -> None:
    """HMS filter the queue to stock moves, correct one against the paper form, then approve both at once."""
    hms.goto("/efterregistrering/granska")
    assert_accessible(hms)
    cards = hms.locator("main article.card")
    expect(cards).to_have_count(2)
    hms.get_by_label("Typ", exact=True).select_option(label="Lagerflytt")
    hms.get_by_role("button", name="Visa").click()
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text(stock_move_item)
    expect(cards.first).to_contain_text("10 st")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    hms.screenshot(path=str(OUTPUT / "hms-queue-filtered.png"), full_page=True)
    cards.first.get_by_role("link", name=re.compile("Visa, rätta eller makulera")).click()
    assert_accessible(hms)
    hms.locator("#andra summary").click()  # the correction section opens on demand
    hms.locator("#andra").get_by_label("Antal förpackningar").fill("12")
    hms.locator("#andra").get_by_label("Motivering").fill("Blanketten säger 12 förpackningar")
    hms.get_by_role("button", name="Spara rättelsen").click()
    expect(hms.locator(".flash").first).to_contain_text("Posten är rättad")
    expect(hms.locator("main")).to_contain_text("Efter rättelsen")
    hms.screenshot(path=str(OUTPUT / "hms-correction-trace.png"), full_page=True)
    hms.goto("/efterregistrering/granska")
    expect(cards).to_have_count(1)  # the corrected stock move is approved by the correction
    cards.first.get_by_role("checkbox").check()
    hms.get_by_role("button", name="Godkänn markerade …").click()
    assert_accessible(hms)
    expect(hms.get_by_role("heading", level=1)).to_have_text("Godkänn 1 post?")
    expect(hms.locator("main article.card")).to_contain_text(prescription_item)
    hms.screenshot(path=str(OUTPUT / "hms-confirm-approval.png"), full_page=True)
    hms.get_by_role("button", name="Ja, godkänn 1 post").click()
    expect(hms.locator(".flash").first).to_have_text("1 post godkänd och skickas till huvudservern.")
    expect(cards).to_have_count(0)


def _state_of(stack: Stack, component: str) -> str:
    return next(c["state"] for c in stack.status()["components"] if c["key"] == component)


def _unregistered(stack: Stack) -> int:
    progress = stack.status()["sync"]
    return progress["backlog"] + progress["waiting_for_people"]

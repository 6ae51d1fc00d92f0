"""The drill's script: the outage day, phase by phase, in simulated minutes after the outage start."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from app.drills.recorder import Recorder
from core.errors import DomainError, ValidationFailed
from core.extensions import db
from core.formatting import local_text
from core.models import Article, Patient, ProductArea, User
from reserve.models import Checklist
from status.probes import ProbeOutcome


class Prober:
    """Answers the sandbox monitor's probes: the main server is up or down as the script says."""


    def __init__(self, main_url: str) -> None:
        self.main_url, self.main_up = main_url, True

    def __call__(self, url: str, healthy, timeout) -> ProbeOutcome:  # noqa: ANN001
        up = self.main_up if url.startswith(self.main_url) else True
        return ProbeOutcome(up, 2, "HTTP 200" if up else "connection refused (övning)")


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


class OutageDay:
    """The drill's script, phase by phase, in simulated minutes after the outage start."""

    def __init__(self, log: Recorder, prober: Prober, runbooks: dict) -> None:
        self.log, self.prober, self.runbooks = log, prober, runbooks
        self.hms, self.agent, self.it = _user("hms_staff"), _user("customer_service"), _user("it_staff")
        self.prescriber, self.admin = _user("prescriber"), _user("admin")
        self.incident_id = 0
        self.printed: list[str] = []
        self.area, self.article = _article("inkontinens")
        self.patient, self.other = _patients(2)

    def at(self, minutes: float) -> datetime:
        return self.log.start + timedelta(minutes=minutes)

    def tick(self, minutes: int, key: str, who: User, note: str) -> None:
        from reserve import checklists

        step = _step(self.incident_id, key)
        with self.log.step(self.at(minutes), f"Steg: {step.title}", who.name) as entry:
            checklists.tick_step(who, step.id, note, self.at(minutes))
            entry["result"] = "Klart"

    def capture_as(self, minutes: int, who: User, label: str, data, expect_refusal: bool = False) -> None:  # noqa: ANN001
        from reserve import capture

        with self.log.step(self.at(minutes), label, who.name) as entry:
            try:
                made = capture.capture(who, data, self.runbooks, self.at(minutes))
            except (ValidationFailed, DomainError) as exc:
                entry["result"] = f"Avvisades: {getattr(exc, 'message', None) or exc}"
                entry["ok"] = expect_refusal
                return
            entry["ok"] = not expect_refusal
            entry["result"] = f"{made.item.reserve_number}" + (
                f", flaggad som möjlig dubblett av {made.duplicate_of.reserve_number}" if made.duplicate_of else "")

    def before_the_outage(self) -> None:
        from reserve import kit
        from status import services

        with self.log.step(self.at(-30), "Reservlådan skapas medan huvudsystemet fungerar", "systemet") as entry:
            services.run_probe_cycle(self.at(-31), prober=self.prober)
            made = kit.generate(self.at(-30))
            entry["result"] = f"{len(made.documents)} dokument, uppgifter per {local_text(made.data_as_of)}"
            self.printed = _printed_numbers()

    def outage_confirmed(self) -> None:
        from reserve import checklists
        from status import services

        with self.log.step(self.at(0), "Huvudservern slutar svara; övervakningen bekräftar driftstörningen",
                           "övervakningen") as entry:
            self.prober.main_up = False
            for seconds in (0, 20, 40):
                services.run_probe_cycle(self.log.start + timedelta(seconds=seconds), prober=self.prober)
            state = services.current_reserve_state()
            if state is None:
                raise RuntimeError("the monitor opened no incident")
            entry["result"] = f"Händelse #{state.incident_id}: {state.scenario.guide.title}"
            self.incident_id = state.incident_id
        with self.log.step(self.at(1), "Checklistan skapas ur körboken", "systemet") as entry:
            checklists.reconcile(self.at(1))
            entry["result"] = f"{sum(len(c.steps) for c in checklists.checklists_of(self.incident_id))} steg"

    def first_four_hours(self) -> None:
        from reserve import calls
        from reserve.rules import CaptureInput
        from status import services

        agent, article = self.agent, self.article
        self.tick(4, "notify_system_owner", self.hms, "Övning: SA informerad per telefon.")
        self.tick(6, "inform_callers", agent, "Övning: inringande informeras och hänvisas till driftinfo.")
        with self.log.step(self.at(9), "Samtal loggas", agent.name) as entry:
            calls.log_call(agent, "prescriber", "outage", "informed", "Övning: hänvisad till driftinfo", None,
                           self.at(9))
            entry["result"] = "Loggat"
        with self.log.step(self.at(15), "IT publicerar driftinfo", self.it.name) as entry:
            services.publish_driftinfo(self.it.id, "Övning: huvudsystemet går inte att nå",
                                       "Detta är en övning. Felsökning pågår.", self.incident_id, now=self.at(15))
            entry["result"] = "Publicerat"
        self.tick(20, "contact_supplier", self.admin, "Övning: ärende hos leverantören.")
        self.capture_as(30, self.hms, "Lagerflytt före fyra timmar (tillåten av körboken)",
                        CaptureInput("stock_move", "phone", unit="420107", article=article.number, packages=40))
        self.capture_as(45, agent, "Akut förskrivning före fyra timmar (väntar på reservrutinen)",
                        CaptureInput("prescription", "phone", patient=self.patient.personnummer, unit="410215",
                                     article=article.number, packages=3, responsible_prescriber="prescriber"),
                        expect_refusal=True)

    def reserve_routine(self) -> None:
        from reserve import checklists
        from reserve.rules import CaptureInput
        from status import services

        agent, article, printed, patient = self.agent, self.article, self.printed, self.patient.personnummer
        with self.log.step(self.at(240), "Fyra timmar utan prognos: reservrutinen aktiveras", "systemet") as entry:
            activated = services.run_reserve_check(self.at(240))
            checklists.reconcile(self.at(240))
            entry["result"] = "Aktiverad" if activated else "Inte aktiverad"
            entry["ok"] = bool(activated)
        self.tick(245, "get_kit", self.hms, f"Övning: reservlådan från {local_text(self.at(-30))} används.")
        self.capture_as(250, agent, "Akut förskrivning per telefon", CaptureInput(
            "prescription", "phone", patient=patient, unit="410215", article=article.number, packages=3,
            responsible_prescriber="prescriber", note="Övning"))
        self.capture_as(255, agent, "Samma förskrivning på pappersblankett", CaptureInput(
            "prescription", "paper", patient=patient, unit="410215", article=article.number, packages=3,
            responsible_prescriber="prescriber", reserve_number=printed[0] if printed else None))
        self.capture_as(260, agent, "Beställning per e-post med personnummer", CaptureInput(
            "order", "email", patient=self.other.personnummer, unit="410238", article=article.number, packages=2),
            expect_refusal=True)
        self.capture_as(262, agent, "Beställning per e-post utan personuppgifter", CaptureInput(
            "order", "email", unit="410238", article=article.number, packages=2))
        self.capture_as(270, self.hms, "Arbetsorder på papper", CaptureInput(
            "work_order", "paper", responsible_prescriber="prescriber", work_order_type="repair",
            note="Övning: rullstolens broms", reserve_number=printed[1] if len(printed) > 1 else None))
        self.tick(275, "stock_moves_first", self.hms, "Övning: lagerflytten registrerad först.")
        with self.log.step(self.at(280), "Förskrivaren förskriver lokalt under driftstörningen",
                           self.prescriber.name) as entry:
            entry["result"] = _prescribe_locally(self.prescriber, self.other, self.area, article)

    def recovery(self, back_register: Callable[[], tuple[str, bool]]) -> None:
        from reserve import checklists
        from status import services

        with self.log.step(self.at(300), "Huvudservern svarar igen", "övervakningen") as entry:
            self.prober.main_up = True
            for seconds in (0, 20):
                services.run_probe_cycle(self.at(300) + timedelta(seconds=seconds), prober=self.prober)
            checklists.reconcile(self.at(301))
            entry["result"] = "Återställd"
        with self.log.step(self.at(305), "Efterregistrering till referensservern", "synkroniseringen") as entry:
            entry["result"], entry["ok"] = back_register()
            checklists.reconcile(self.at(306))  # notes what the main server registered, then ticks
        with self.log.step(self.at(320), "IT bekräftar återgång till normal drift", self.it.name) as entry:
            services.deactivate_reserve(self.it.id, "Övning: huvudsystemet fungerar och allt är efterregistrerat.",
                                        now=self.at(320))
            checklists.reconcile(self.at(321))
            entry["result"] = "Reservrutinen avslutad, händelsen löst"


def seed_rows() -> None:
    try:
        from app.demo.withdrawals import seed_demo_withdrawals
    except ImportError:  # the withdrawals module is optional for the drill
        return
    seed_demo_withdrawals(patients=10)


def _article(area_code: str) -> tuple[ProductArea, Article]:
    area = db.session.scalar(select(ProductArea).where(ProductArea.code == area_code))
    article = db.session.scalar(select(Article).where(Article.product_area_id == area.id, Article.is_active.is_(True))
                                .order_by(Article.number).limit(1))
    return area, article


def _patients(count: int) -> list[Patient]:
    return list(db.session.scalars(select(Patient).order_by(Patient.id.desc()).limit(count)))


def _printed_numbers() -> list[str]:
    from reserve.models import ReserveNumber
    from reserve.rules import format_reserve_number

    return [format_reserve_number(n) for n in db.session.scalars(
        select(ReserveNumber.number).where(ReserveNumber.state == "printed").order_by(ReserveNumber.number))]


def _step(incident_id: int, key: str):  # noqa: ANN202
    for checklist in db.session.scalars(select(Checklist).where(Checklist.incident_id == incident_id,
                                                                Checklist.superseded_at.is_(None))):
        for step in checklist.steps:
            if step.key == key:
                return step
    raise DomainError(f"steget {key} finns inte i checklistan")


def _prescribe_locally(prescriber: User, patient: Patient, area: ProductArea, article: Article) -> str:
    from app.prescribing import services as prescribing
    from reserve.hooks import is_awaiting_registration

    units = prescribing.units_for(prescriber, area)
    made = prescribing.create_prescription(prescriber, prescribing.PrescriptionInput(
        patient.id, area.code, units[0].id, (prescribing.RowInput(article_id=article.id, withdrawals=4,
                                                                  packages_per_withdrawal=2),)))
    marked = "inväntar registrering" if is_awaiting_registration(made.id) else "inte markerad"
    return f"Förskrivning {made.number}, {marked}"

"""Load the demo data set into the store: `seed_demo()` is the one use case; the CLI calls it."""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import insert, select

from core.auth.passwords import hash_password
from core.clock import utcnow
from app.demo import reference
from app.demo.catalogue import build_articles
from app.demo.people import PatientChunk, PatientFactory, generate_patients
from core.extensions import db
from app.patients.register import RegisteredAddress
from core.store import begin_write
from core.models import (
    Article, ContactPerson, NewsItem, Patient, PrescribingUnit, ProductArea, UnitPayer, User, UserRole, Warehouse,
)

# 1947: the year Sweden introduced the personnummer. Any fixed value makes runs repeatable.
DEFAULT_SEED = 1947
CHUNK_SIZE = 10_000

ProgressCallback = Callable[[int, int], None]


class StoreNotEmpty(Exception):
    """The store already holds users, units, articles or patients; demo data goes only into an empty one."""


REGISTER_ONLY_PEOPLE = 25


@dataclass(frozen=True)
class SeedReport:
    """What one run loaded, and how long it took."""

    skipped: bool = False
    product_areas: int = 0
    units: int = 0
    payers: int = 0
    warehouses: int = 0
    news_items: int = 0
    articles: int = 0
    users: int = 0
    patients: int = 0
    contact_persons: int = 0
    seconds: float = 0.0
    patient_seconds: float = 0.0
    # People only the population register knows: searching one shows the first fetch.
    register_only: dict[str, RegisteredAddress] = field(default_factory=dict)

    @property
    def patients_per_second(self) -> float:
        return self.patients / self.patient_seconds if self.patient_seconds > 0 else 0.0

    def summary_lines(self) -> list[str]:
        """Return the human-readable summary the CLI prints."""
        return [
            f"Product areas: {self.product_areas}, prescribing units: {self.units} ({self.payers} payers), "
            f"warehouses: {self.warehouses}, news items: {self.news_items}",
            f"Articles: {self.articles}, users: {self.users} (password \"{reference.DEMO_PASSWORD}\")",
            f"Patients: {self.patients}, contact persons: {self.contact_persons}",
            f"Took {self.seconds:.1f} s; patients at {self.patients_per_second:,.0f} per second",
        ]


_OCCUPYING_MODELS = (User, PrescribingUnit, Warehouse, Article, Patient)


def store_holds_data() -> bool:
    """Return whether any users, units, warehouses, articles or patients exist.

    Product areas do not count: they are fixed reference data a migration may one day insert.
    """
    return any(db.session.scalar(select(select(model.id).exists())) for model in _OCCUPYING_MODELS)


def seed_demo(patients: int, seed: int = DEFAULT_SEED, *, if_empty: bool = False, chunk_size: int = CHUNK_SIZE,
              on_progress: ProgressCallback | None = None) -> SeedReport:
    """Load the demo data set into an empty store and return what was loaded.

    With `if_empty`, a store that already holds data is left alone and the report says skipped;
    without it such a store raises StoreNotEmpty, so demo data never mixes with other data.
    """
    begin_write()  # the emptiness check and the reference data form one write transaction
    if store_holds_data():
        if if_empty:
            return SeedReport(skipped=True)
        raise StoreNotEmpty(
            "The store already holds data (users, units, articles or patients); demo data is only loaded "
            "into an empty store. Use --if-empty to skip, or start from a freshly migrated store."
        )
    started = time.perf_counter()
    now = utcnow()
    areas = _seed_product_areas()
    units, payers = _seed_units(areas)
    warehouses = _seed_warehouses(units)
    news_items = _seed_news(now)
    articles = _seed_articles(areas, random.Random(f"{seed}:articles"))
    users = _seed_users(areas, units)
    # Reference data, articles and users land in one commit; patients then stream in per chunk.
    db.session.commit()

    patients_started = time.perf_counter()
    contact_persons = 0
    done = 0
    factory = PatientFactory(random.Random(f"{seed}:patients"), now)
    for chunk in generate_patients(random.Random(), patients, now, chunk_size, factory=factory):
        begin_write()
        contact_persons += _insert_patient_chunk(chunk)
        db.session.commit()
        done += len(chunk.patients)
        if on_progress is not None:
            on_progress(done, patients)
    finished = time.perf_counter()
    # Drawn from the same factory, so their personnummer never collide with a seeded patient's.
    newcomers = [factory.patient()[0] for _ in range(REGISTER_ONLY_PEOPLE)]
    return SeedReport(
        product_areas=len(areas), units=len(units), payers=payers, warehouses=warehouses, news_items=news_items,
        articles=articles, users=users, patients=done, contact_persons=contact_persons,
        seconds=finished - started, patient_seconds=finished - patients_started,
        register_only={
            p["personnummer"]: RegisteredAddress(p["registered_street"], p["registered_postal_code"],
                                                 p["registered_city"], p["first_name"], p["last_name"])
            for p in newcomers
        },
    )


def _seed_product_areas() -> dict[str, ProductArea]:
    """Return the four product areas by code, adding those not already there."""
    existing = {area.code: area for area in db.session.scalars(select(ProductArea))}
    for code, name in reference.PRODUCT_AREAS:
        if code not in existing:
            existing[code] = ProductArea(code=code, name=name)
            db.session.add(existing[code])
    db.session.flush()
    return existing


def _seed_units(areas: dict[str, ProductArea]) -> tuple[dict[str, PrescribingUnit], int]:
    """Return the prescribing units by customer number, and how many payers they got."""
    units: dict[str, PrescribingUnit] = {}
    payers = 0
    for spec in reference.UNITS:
        unit = PrescribingUnit(customer_number=spec.customer_number, name=spec.name)
        for code, payer in spec.payers:
            unit.payers.append(UnitPayer(product_area=areas[code], payer_name=payer))
            payers += 1
        units[spec.customer_number] = unit
        db.session.add(unit)
    db.session.flush()
    return units, payers


def _seed_warehouses(units: dict[str, PrescribingUnit]) -> int:
    for number, name, kind, unit_number in reference.WAREHOUSES:
        db.session.add(Warehouse(number=number, name=name, kind=kind,
                                 unit=units[unit_number] if unit_number else None))
    return len(reference.WAREHOUSES)


def _seed_news(now: datetime) -> int:
    for days_ago, title, body in reference.NEWS:
        db.session.add(NewsItem(title=title, body=body, published_at=now - timedelta(days=days_ago)))
    return len(reference.NEWS)


def _seed_articles(areas: dict[str, ProductArea], rng: random.Random) -> int:
    rows = build_articles(rng)
    for row in rows:
        row["product_area_id"] = areas[row.pop("area")].id
    db.session.execute(insert(Article.__table__), rows)
    return len(rows)


def _seed_users(areas: dict[str, ProductArea], units: dict[str, PrescribingUnit]) -> int:
    for spec in reference.DEMO_USERS:
        user = User(username=spec.role, name=spec.name, hsa_id=spec.hsa_id, email=spec.email, phone=spec.phone,
                    workplace=spec.workplace, password_hash=hash_password(reference.DEMO_PASSWORD))
        user.role_rows = [UserRole(role=spec.role)]
        user.product_areas = [areas[code] for code in spec.product_areas]
        user.units = [units[number] for number in spec.unit_numbers]
        db.session.add(user)
    db.session.flush()
    return len(reference.DEMO_USERS)


def _insert_patient_chunk(chunk: PatientChunk) -> int:
    """Insert one chunk of patients and their contact persons; return the contact-person count."""
    patients = Patient.__table__
    db.session.execute(insert(patients), chunk.patients)
    if not chunk.contact_persons:
        return 0
    # Bulk inserts return no ids, so the new patients are looked up by personnummer (unique index).
    wanted = sorted({row["personnummer"] for row in chunk.contact_persons})
    found = db.session.execute(
        select(patients.c.personnummer, patients.c.id).where(patients.c.personnummer.in_(wanted))
    )
    ids = {personnummer: patient_id for personnummer, patient_id in found}
    rows = [
        {"patient_id": ids[row["personnummer"]], "name": row["name"], "relation": row["relation"],
         "phone": row["phone"], "email": row["email"]}
        for row in chunk.contact_persons
    ]
    db.session.execute(insert(ContactPerson.__table__), rows)
    return len(rows)

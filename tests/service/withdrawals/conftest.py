"""Actors, units, warehouses and a prescription row for the withdrawal and order tests.

The fixtures hold no application context while a test runs: a request made under a pushed context
shares its `g`, where Flask-Login keeps the user, so one test could not act as several users.
Helpers that touch the store push a context of their own (factories.in_app_context).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy import select

from core.auth.roles import Role
from core.extensions import db
from core.models import Article, Patient, PrescribingUnit, PrescriptionRow, User, Warehouse
from core.privacy.access_journal import ingest_pending
from app.withdrawals.models import StockLevel
from tests import factories
from tests.conftest import api_token

TODAY = "2026-11-21 10:00:00"  # a Saturday morning in Sweden, inside every row's year of validity


@dataclass
class World:
    karin: User  # prescriber at Vårdcentralen Norr and Hemsjukvården Eslöv
    olle: User  # prescriber at Vårdcentralen Söder only
    maria: User  # customer service
    johan: User  # Hjälpmedelsservice (HMS)
    erik: User  # service technician
    north: PrescribingUnit
    eslov: PrescribingUnit  # municipal home care, owns stock 101
    south: PrescribingUnit
    central: Warehouse  # lager 10
    eslov_stock: Warehouse  # 101
    hoor_stock: Warehouse  # 102, another municipality's
    patient: Patient
    pads: Article
    drink: Article
    row: PrescriptionRow  # pads for the patient, 3 packages per withdrawal, 4 withdrawals, unit Norr


@pytest.fixture
def world(app) -> World:
    with app.app_context():
        return build_world()


def build_world() -> World:
    """Store the actors, units, warehouses, patient and row above (also used by tests/sync)."""
    north = factories.unit(name="Vårdcentralen Norr", payer_areas=("inkontinens", "nutrition"))
    eslov = factories.unit(name="Hemsjukvården Eslöv", payer_areas=("inkontinens",))
    south = factories.unit(name="Vårdcentralen Söder", payer_areas=("inkontinens",))
    karin = factories.user("karin", roles=(Role.PRESCRIBER,), areas=("inkontinens", "nutrition"),
                           units=(north, eslov), name="Karin Förskrivare")
    olle = factories.user("olle", roles=(Role.PRESCRIBER,), areas=("inkontinens",), units=(south,),
                          name="Olle Förskrivare")
    maria = factories.user("maria", roles=(Role.CUSTOMER_SERVICE,), name="Maria Kundservice")
    johan = factories.user("johan", roles=(Role.HMS_STAFF,), name="Johan HMS")
    erik = factories.user("erik", roles=(Role.TECHNICIAN,), name="Erik Tekniker")
    patient = factories.patient(first_name="Åke", last_name="Öberg", personnummer=factories.make_personnummer(
        1938, 4, 12, 27))
    pads = factories.article(number="310001", name="Inkontinensskydd Maxi", package_size=30)
    drink = factories.article(area="nutrition", number="420001", name="Näringsdryck Jordgubb", package_size=24)
    row = factories.prescription_row(patient, pads, karin, unit=north, packages=3, withdrawals=4)
    return World(
        karin=karin, olle=olle, maria=maria, johan=johan, erik=erik, north=north, eslov=eslov, south=south,
        central=warehouse(10, "central", "HMS centrallager"), eslov_stock=warehouse(101, "municipal",
                                                                                     "Kommunlager Eslöv", eslov),
        hoor_stock=warehouse(102, "municipal", "Kommunlager Höör", south),
        patient=patient, pads=pads, drink=drink, row=row,
    )


@factories.in_app_context
def warehouse(number: int, kind: str, name: str, unit: PrescribingUnit | None = None) -> Warehouse:
    store = Warehouse(number=number, kind=kind, name=name, unit_id=unit.id if unit else None)
    db.session.add(store)
    db.session.commit()
    return store


@factories.in_app_context
def set_stock(warehouse: Warehouse, article: Article, quantity: int) -> None:
    db.session.add(StockLevel(warehouse_id=warehouse.id, article_id=article.id, quantity=quantity,
                              updated_at=datetime(2026, 11, 1)))
    db.session.commit()


@factories.in_app_context
def stock_of(warehouse: Warehouse, article: Article) -> int | None:
    return db.session.scalar(select(StockLevel.quantity).where(
        StockLevel.warehouse_id == warehouse.id, StockLevel.article_id == article.id))


@factories.in_app_context
def scalar(statement):  # noqa: ANN001, ANN201
    """Return one value read from the store (in a context of its own)."""
    return db.session.scalar(statement)


@factories.in_app_context
def scalars(statement) -> list:  # noqa: ANN001
    return list(db.session.scalars(statement))


@factories.in_app_context
def journal_moved() -> None:
    """Move the access journal's lines into the log, as every reader of the log does first."""
    ingest_pending()


def bearer(client, username: str) -> dict[str, str]:  # noqa: ANN001
    return {"Authorization": f"Bearer {api_token(client, username)}"}

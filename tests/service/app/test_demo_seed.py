"""`flask seed-demo` and `seed_demo()` against the real store; every test is rolled back."""
from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from core.auth.passwords import verify_password
from core.auth.roles import Role
from app.demo.reference import DEMO_PASSWORD
from app.demo.seed import SeedReport, StoreNotEmpty, seed_demo
from core.extensions import db
from core.models import (
    PRODUCT_AREA_CODES, Article, ContactPerson, Patient, PrescribingUnit, ProductArea, User, Warehouse,
)
from core.privacy.personnummer import is_coordination_number, validate_personnummer

PATIENTS = 300


@pytest.fixture
def seeded(app: Flask, ctx: None) -> SeedReport:
    return seed_demo(PATIENTS, seed=11)


def test_seed_creates_valid_unique_patients_with_some_samordningsnummer(seeded: SeedReport) -> None:
    numbers = list(db.session.scalars(select(Patient.personnummer)))
    assert len(numbers) == seeded.patients == PATIENTS
    assert len(set(numbers)) == PATIENTS
    for number in numbers:
        validate_personnummer(number)
    assert any(is_coordination_number(number) for number in numbers)
    contacts = db.session.scalar(select(func.count()).select_from(ContactPerson))
    assert contacts == seeded.contact_persons > 0


def test_seed_loads_catalogue_of_all_four_product_areas(seeded: SeedReport) -> None:
    assert db.session.scalar(select(func.count()).select_from(Article)) == seeded.articles >= 2000
    codes = set(db.session.scalars(
        select(ProductArea.code).join(Article, Article.product_area_id == ProductArea.id).distinct()
    ))
    assert codes == set(PRODUCT_AREA_CODES)
    names = set(db.session.scalars(select(ProductArea.name)))
    assert names == {"Inkontinens", "Nutrition", "Diabetes", "Stomi"}


def test_seed_creates_one_user_per_role_named_after_it_with_password_demo(seeded: SeedReport) -> None:
    users = {user.username: user for user in db.session.scalars(select(User))}
    assert set(users) == {role.value for role in Role}
    for role in Role:
        assert users[role.value].roles == frozenset({role})
        assert verify_password(users[role.value].password_hash, DEMO_PASSWORD)


def test_prescriber_units_have_payers_and_one_area_has_a_single_unit(seeded: SeedReport) -> None:
    prescriber = db.session.scalar(select(User).where(User.username == "prescriber"))
    assert prescriber.product_areas and 2 <= len(prescriber.units) <= 3
    units_per_area = {
        area.code: [unit for unit in prescriber.units if unit.payer_for(area.id)]
        for area in prescriber.product_areas
    }
    assert all(units_per_area.values()), units_per_area
    assert any(len(units) == 1 for units in units_per_area.values())
    assert all(unit.payers for unit in prescriber.units)


def test_seed_creates_central_and_municipal_warehouses(seeded: SeedReport) -> None:
    warehouses = list(db.session.scalars(select(Warehouse)))
    central = [w for w in warehouses if w.is_central]
    assert len(central) == 1 and central[0].kind == "central" and central[0].name == "HMS centrallager"
    municipal = [w for w in warehouses if w.kind == "municipal"]
    assert municipal and all(isinstance(w.unit, PrescribingUnit) for w in municipal)


def test_seed_refuses_a_store_that_already_holds_data(seeded: SeedReport) -> None:
    with pytest.raises(StoreNotEmpty):
        seed_demo(10, seed=11)
    assert seed_demo(10, seed=11, if_empty=True).skipped
    assert db.session.scalar(select(func.count()).select_from(Patient)) == PATIENTS


def test_cli_if_empty_seeds_once_then_does_nothing(app: Flask, ctx: None) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo", "--patients", "50", "--if-empty"])
    assert first.exit_code == 0, first.output
    assert "Patients: 50" in first.output
    second = runner.invoke(args=["seed-demo", "--patients", "50", "--if-empty"])
    assert second.exit_code == 0, second.output
    assert "nothing loaded" in second.output
    assert db.session.scalar(select(func.count()).select_from(Patient)) == 50
    assert db.session.scalar(select(func.count()).select_from(User)) == len(Role)


def test_cli_without_if_empty_fails_clearly_on_a_seeded_store(app: Flask, ctx: None) -> None:
    seed_demo(5, seed=1)
    result = app.test_cli_runner().invoke(args=["seed-demo", "--patients", "5"])
    assert result.exit_code == 1
    assert "already holds data" in result.output


def test_register_only_people_are_valid_and_not_yet_in_the_store(seeded: SeedReport) -> None:
    assert len(seeded.register_only) == 25
    stored = set(db.session.scalars(select(Patient.personnummer)))
    for personnummer, address in seeded.register_only.items():
        validate_personnummer(personnummer)
        assert personnummer not in stored
        assert address.first_name and address.last_name and address.city

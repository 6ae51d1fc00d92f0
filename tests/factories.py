"""Test data with sensible defaults; each factory commits (a savepoint under the test transaction)."""
from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, has_app_context
from sqlalchemy import select

from core.auth.passwords import hash_password
from core.auth.roles import Role
from core.extensions import db
from core.models import (
    PRODUCT_AREA_CODES, Article, Patient, PrescribingUnit, Prescription, PrescriptionRow, ProductArea, UnitPayer, User,
    UserRole, Warehouse,
)
from core.privacy.personnummer import check_digit

PASSWORD = "correct horse 42"
_counter = itertools.count(1)
_app: Flask | None = None

F = TypeVar("F", bound=Callable)


def bind_app(app: Flask | None) -> Flask | None:
    """Make factories push this app's context; return the app bound before."""
    global _app
    previous, _app = _app, app
    return previous


def in_app_context(factory: F) -> F:
    """Run the factory inside an application context, pushing one when the test holds none."""

    @wraps(factory)
    def wrapper(*args: Any, **kwargs: Any):
        if has_app_context():
            return factory(*args, **kwargs)
        assert _app is not None, "factories need the app fixture"
        with _app.app_context():
            return factory(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def make_personnummer(year: int = 1950, month: int = 1, day: int = 1, serial: int | None = None) -> str:
    """Return a valid personnummer for the date; serial defaults to a fresh number."""
    serial = next(_counter) % 1000 if serial is None else serial
    nine = f"{year % 100:02d}{month:02d}{day:02d}{serial:03d}"
    return f"{year:04d}{month:02d}{day:02d}{serial:03d}{check_digit(nine)}"


@in_app_context
def product_area(code: str = "inkontinens") -> ProductArea:
    existing = db.session.scalar(select(ProductArea).where(ProductArea.code == code))
    if existing:
        return existing
    area = ProductArea(code=code, name=code.capitalize())
    db.session.add(area)
    db.session.commit()
    return area


@in_app_context
def all_product_areas() -> list[ProductArea]:
    return [product_area(code) for code in PRODUCT_AREA_CODES]


@in_app_context
def unit(name: str | None = None, payer_areas: tuple[str, ...] = ("inkontinens",), **overrides: Any) -> PrescribingUnit:
    n = next(_counter)
    unit = PrescribingUnit(customer_number=overrides.pop("customer_number", f"{600000 + n}"),
                           name=name or f"Vårdcentralen {n}", **overrides)
    for code in payer_areas:
        unit.payers.append(UnitPayer(product_area=product_area(code), payer_name="Region Skåne"))
    db.session.add(unit)
    db.session.commit()
    return unit


@in_app_context
def user(username: str | None = None, roles: tuple[Role, ...] = (Role.PRESCRIBER,), *,
         password: str = PASSWORD, areas: tuple[str, ...] = (), units: tuple[PrescribingUnit, ...] = (),
         **overrides: Any) -> User:
    n = next(_counter)
    account = User(
        username=username or f"user{n}",
        name=overrides.pop("name", f"Test Användare {n}"),
        password_hash=hash_password(password),
        **overrides,
    )
    account.role_rows = [UserRole(role=role.value) for role in roles]
    account.product_areas = [product_area(code) for code in areas]
    account.units = [db.session.merge(u) for u in units]
    db.session.add(account)
    db.session.commit()
    return account


@in_app_context
def patient(**overrides: Any) -> Patient:
    values: dict[str, Any] = {
        "personnummer": make_personnummer(),
        "first_name": "Karin",
        "last_name": "Lindqvist",
        "registered_street": "Storgatan 1",
        "registered_postal_code": "222 21",
        "registered_city": "Lund",
        "registered_address_fetched_at": datetime(2026, 1, 1),
    }
    values.update(overrides)
    row = Patient(**values)
    db.session.add(row)
    db.session.commit()
    return row


@in_app_context
def article(area: str = "inkontinens", **overrides: Any) -> Article:
    n = next(_counter)
    values: dict[str, Any] = {
        "number": f"{100000 + n}",
        "name": f"Testartikel {n}",
        "package_size": 20,
        "unit_price": Decimal("129.00"),
        "supplier": "Nordvård AB",
        "supplier_article_number": f"NV-{n}",
        "product_group": "Skydd",
        "subgroup": "Inlägg",
        "product_area": product_area(area),
    }
    values.update(overrides)
    row = Article(**values)
    db.session.add(row)
    db.session.commit()
    return row


@in_app_context
def warehouse(number: int = 10, kind: str = "central", name: str = "HMS centrallager") -> Warehouse:
    row = Warehouse(number=number, kind=kind, name=name)
    db.session.add(row)
    db.session.commit()
    return row


@in_app_context
def prescription_row(patient: Patient, article: Article, prescriber: User, *, unit: PrescribingUnit | None = None,
                     prescribed_on: date = date(2026, 11, 2), status: str = "active", packages: int = 2,
                     withdrawals: int = 4, withdrawals_used: int = 0, number: int | None = None,
                     recommendation: str | None = None) -> PrescriptionRow:
    """Store a one-row prescription directly (bypassing the service) for read-side tests."""
    article = db.session.merge(article)
    unit = db.session.merge(unit) if unit else globals()["unit"](payer_areas=(article.product_area.code,))
    prescription = Prescription(
        number=number or 200_000_000 + next(_counter), patient_id=patient.id, prescriber_id=prescriber.id,
        unit_id=unit.id, product_area_id=article.product_area_id, prescribed_on=prescribed_on,
    )
    row = PrescriptionRow(
        patient_id=patient.id, article_id=article.id, packages_per_withdrawal=packages, period_days=90,
        withdrawals=withdrawals, withdrawals_used=withdrawals_used, status=status,
        valid_until=prescribed_on.replace(year=prescribed_on.year + 1), recommendation=recommendation,
    )
    prescription.rows.append(row)
    db.session.add(prescription)
    db.session.commit()
    return row

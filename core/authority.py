"""Whether a prescriber may prescribe an article for a unit: the checks every capture path shares.

Seed 000: a prescriber prescribes within the product areas they are authorised for, for a unit
they have a customer relation to, and the unit needs a payer for the article's product area.
"""
from __future__ import annotations

from sqlalchemy import select

from core.errors import FieldError
from core.extensions import db
from core.models import Article, PrescribingUnit, UnitPayer, User, user_units


def prescribing_errors(prescriber: User | None, unit: PrescribingUnit | None, article: Article,
                       *, prescriber_field: str) -> list[FieldError]:
    """Return what stops this prescriber prescribing the article for the unit, naming the fields."""
    errors: list[FieldError] = []
    area = article.product_area
    if prescriber is not None and area not in prescriber.product_areas:
        errors.append(FieldError(prescriber_field, f"{prescriber.name} har inte behörighet att förskriva inom "
                                                   f"{area.name}."))
    if unit is not None and db.session.scalar(select(UnitPayer.id).where(
            UnitPayer.unit_id == unit.id, UnitPayer.product_area_id == article.product_area_id)) is None:
        errors.append(FieldError("unit", f"{unit.name} saknar betalare för {area.name}."))
    if unit is not None and prescriber is not None and db.session.scalar(select(user_units.c.unit_id).where(
            user_units.c.user_id == prescriber.id, user_units.c.unit_id == unit.id)) is None:
        errors.append(FieldError(prescriber_field, f"{prescriber.name} har ingen kundkoppling till {unit.name}."))
    return errors

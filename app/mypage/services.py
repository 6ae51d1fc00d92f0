"""My page use cases: the user's own contact details and customer relations."""
from __future__ import annotations

import re

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from core.errors import FieldError, ValidationFailed
from core.extensions import db
from core.models import PrescribingUnit, UnitPayer, User, user_units
from app.mypage.forms import EMAIL_PATTERN, EMAIL_REQUIRED, PHONE_PATTERN
from core.store import begin_write


def update_contact_details(user: User, email: str | None, phone: str | None) -> User:
    """Save the user's own e-mail (required) and phone (an empty value clears it)."""
    begin_write()
    email = (email or "").strip() or None
    phone = (phone or "").strip() or None
    errors = []
    if email is None:
        errors.append(FieldError("email", EMAIL_REQUIRED))
    elif len(email) > 254 or not re.match(EMAIL_PATTERN, email):
        errors.append(FieldError("email", "Ange en e-postadress, t.ex. namn@region.se."))
    if phone is not None and (len(phone) > 40 or not re.match(PHONE_PATTERN, phone)):
        errors.append(FieldError("phone", "Ange ett telefonnummer med siffror, t.ex. 040-123 45 67."))
    if errors:
        db.session.rollback()
        raise ValidationFailed(errors)
    account = db.session.get(User, user.id)
    account.email, account.phone = email, phone
    db.session.commit()
    return account


def customer_relations_query(user: User) -> Select:
    """Return the prescribing units (kundnummer) the user has a customer relation to."""
    return (
        select(PrescribingUnit)
        .join(user_units, user_units.c.unit_id == PrescribingUnit.id)
        .where(user_units.c.user_id == user.id)
        .options(selectinload(PrescribingUnit.payers).joinedload(UnitPayer.product_area))
    )

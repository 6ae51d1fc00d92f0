"""The contact-details form of My page."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, Optional, Regexp

EMAIL_PATTERN = r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$"
PHONE_PATTERN = r"^\+?[0-9][0-9 \-()]{4,38}$"


class ContactDetailsForm(FlaskForm):
    email = StringField("E-post", validators=[
        Optional(), Length(max=254, message="Högst 254 tecken."),
        Regexp(EMAIL_PATTERN, message="Ange en e-postadress, t.ex. namn@region.se."),
    ], render_kw={"autocomplete": "email", "inputmode": "email"})
    phone = StringField("Telefon", validators=[
        Optional(), Length(max=40, message="Högst 40 tecken."),
        Regexp(PHONE_PATTERN, message="Ange ett telefonnummer med siffror, t.ex. 040-123 45 67."),
    ], render_kw={"autocomplete": "tel", "inputmode": "tel"})

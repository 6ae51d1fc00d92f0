"""The contact-details form of My page."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

EMAIL_PATTERN = r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$"
PHONE_PATTERN = r"^\+?[0-9][0-9 \-()]{4,38}$"
# Messages are announced and passwords reset by e-mail: an account without an address would miss both.
EMAIL_REQUIRED = "Ange din e-postadress; den behövs för meddelanden och för att återställa lösenordet."


class ContactDetailsForm(FlaskForm):
    email = StringField("E-post", validators=[
        DataRequired(EMAIL_REQUIRED), Length(max=254, message="Högst 254 tecken."),
        Regexp(EMAIL_PATTERN, message="Ange en e-postadress, t.ex. namn@region.se."),
    ], render_kw={"autocomplete": "email", "inputmode": "email"})
    phone = StringField("Telefon", validators=[
        Optional(), Length(max=40, message="Högst 40 tecken."),
        Regexp(PHONE_PATTERN, message="Ange ett telefonnummer med siffror, t.ex. 040-123 45 67."),
    ], render_kw={"autocomplete": "tel", "inputmode": "tel"})

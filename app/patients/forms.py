"""Forms of the Patient tab."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, FormField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, Regexp, ValidationError

from core.models import NUTRITION_FULL

POSTAL_CODE = Regexp(r"^\d{3} ?\d{2}$", message="Ange postnummer som NNN NN.")
PHONE = Regexp(r"^[0-9 +()-]{5,20}$", message="Ange ett telefonnummer (siffror, mellanslag, +, -).")


class ContactForm(FlaskForm):
    class Meta:
        csrf = False  # the enclosing form carries the token

    name = StringField("Namn", validators=[Optional(), Length(max=150)])
    relation = StringField("Relation", validators=[Optional(), Length(max=60)])
    phone = StringField("Telefon", validators=[Optional(), PHONE])

    def validate_name(self, field: StringField) -> None:
        if not field.data and (self.relation.data or self.phone.data):
            raise ValidationError("Ange kontaktpersonens namn.")


class PatientDetailsForm(FlaskForm):
    delivery_street = StringField("Gatuadress", validators=[Optional(), Length(max=150)])
    delivery_postal_code = StringField("Postnummer", validators=[Optional(), POSTAL_CODE])
    delivery_city = StringField("Postort", validators=[Optional(), Length(max=100)])
    nutrition_category = SelectField(
        "Patientkategori nutrition",
        choices=[
            SelectChoice("", "Blank (patienten betalar 50 %)"),
            SelectChoice(NUTRITION_FULL, "Fullnutrition (högst 1 500 kr/månad)"),
        ],
        validators=[Optional()],
    )
    special_housing = BooleanField("Bor i särskilt boende (ingen patientavgift)")
    contacts = FieldList(FormField(ContactForm), min_entries=2, max_entries=3)

    def validate_delivery_street(self, field: StringField) -> None:
        parts = [self.delivery_street.data, self.delivery_postal_code.data, self.delivery_city.data]
        if any(parts) and not all(parts):
            raise ValidationError("Fyll i gatuadress, postnummer och postort, eller lämna alla tomma.")


class PatientSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField("Personnummer", validators=[Length(max=12)],
                    render_kw={"inputmode": "numeric", "autocomplete": "off", "placeholder": "ÅÅÅÅMMDDXXXX"})
    article = StringField("Artikelnummer", validators=[Length(max=20)], render_kw={"autocomplete": "off"})
    rows = RadioField(
        "Rader",
        choices=[SelectChoice("active", "Aktiva"), SelectChoice("inactive", "Inaktiva"), SelectChoice("both", "Båda")],
        default="active",
    )

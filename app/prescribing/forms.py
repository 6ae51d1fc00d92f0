"""Forms of the new-prescription flow."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from app.prescribing.quantity import DEFAULT_PERIOD_DAYS

WITHDRAWAL_CHOICES = [SelectChoice(str(n), f"{n} ({days} dagar)") for n, days in sorted(DEFAULT_PERIOD_DAYS.items())]


class RowForm(FlaskForm):
    # Nine digits at most: an id beyond the store's integers must not reach it (a 500 on PostgreSQL).
    article_id = HiddenField(validators=[DataRequired("Välj en artikel."),
                                         Regexp(r"^\d{1,9}$", message="Välj en artikel.")])
    mode = RadioField(
        "Ange antal som",
        choices=[SelectChoice("packages", "Förpackningar per uttag"), SelectChoice("pieces", "Antal st per dag")],
        default="packages",
    )
    packages_per_withdrawal = IntegerField("Förpackningar per uttag", validators=[
        Optional(), NumberRange(min=1, max=9999, message="Ange 1–9 999 förpackningar.")])
    pieces_per_day = StringField("Antal st per dag", validators=[
        Optional(), Length(max=10), Regexp(r"^\d+([.,]\d+)?(\s*/\s*\d+)?$", message="Ange t.ex. 3, 0,5 eller 1/2.")])
    withdrawals = SelectField("Antal uttag", choices=WITHDRAWAL_CHOICES, default="4",
                              validators=[InputRequired()])
    period_days = IntegerField("Förbrukningsperiod per uttag (dagar)", validators=[
        Optional(), NumberRange(min=1, max=365, message="Ange 1–365 dagar.")])
    recommendation = TextAreaField("Rekommendation (skrivs ut på kvittot)", validators=[Optional(), Length(max=500)])

    def validate_packages_per_withdrawal(self, field: IntegerField) -> None:
        if self.mode.data == "packages" and field.data is None:
            raise ValidationError("Ange antal förpackningar per uttag.")

    def validate_pieces_per_day(self, field: StringField) -> None:
        if self.mode.data == "pieces" and not field.data:
            raise ValidationError("Ange antal st per dag.")

"""Forms of the withdrawal and order pages."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp

from app.withdrawals.order_services import MAX_QUANTITY


class WithdrawalForm(FlaskForm):
    packages = IntegerField("Antal förpackningar", validators=[
        InputRequired("Ange antal förpackningar."), NumberRange(min=1, max=9999, message="Ange 1–9 999 förpackningar.")])


class LineForm(Form):
    article_number = StringField("Artikelnummer", validators=[Optional(), Length(max=20)])
    quantity = IntegerField("Antal (st)", validators=[
        Optional(), NumberRange(min=1, max=MAX_QUANTITY, message=f"Ange 1–{MAX_QUANTITY} st.")])


class OrderForm(FlaskForm):
    from_warehouse = SelectField("Levererande lager", coerce=str, validate_choice=False)
    unit = SelectField("Mottagande vårdenhet", coerce=str, validate_choice=False)
    patient = StringField("Patientens personnummer", validators=[
        Optional(), Regexp(r"^\d{12}$", message="Ange personnummer med 12 siffror, ÅÅÅÅMMDDXXXX.")])
    to_warehouse = SelectField("Mottagande kommunlager", coerce=str, validate_choice=False)
    lines = FieldList(FormField(LineForm), min_entries=5, max_entries=30)

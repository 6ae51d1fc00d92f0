"""Forms of the reserve routine's pages (CSRF protected); the rules live in the services."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from reserve.calls import CALLER_TYPES, OUTCOMES, TOPICS
from reserve.rules import CHANNEL_LABELS, MAX_NOTE, WORK_ORDER_TYPES


def _choices(labels: dict[str, str], blank: str | None = None) -> list[SelectChoice]:
    choices = [SelectChoice(key, label) for key, label in labels.items()]
    return [SelectChoice("", blank), *choices] if blank else choices


class CaptureForm(FlaskForm):
    """Every field of every kind; the page shows those the kind needs."""

    channel = RadioField("Kanal", choices=_choices(CHANNEL_LABELS), default="phone",
                         validators=[InputRequired("Välj kanal.")])
    reserve_number = StringField("Förtryckt reservnummer (pappersblankett)", validators=[Optional(), Length(max=12)],
                                 render_kw={"autocomplete": "off", "placeholder": "R10000001"})
    patient = StringField("Patientens personnummer", validators=[Optional(), Length(max=13)],
                          render_kw={"autocomplete": "off", "inputmode": "numeric", "placeholder": "ÅÅÅÅMMDDXXXX"})
    # The services check choices and say what is wrong in Swedish.
    unit = SelectField("Enhet (kund)", validators=[Optional()], validate_choice=False)
    article = StringField("Artikelnummer", validators=[Optional(), Length(max=20)], render_kw={"autocomplete": "off"})
    packages = IntegerField("Antal förpackningar", validators=[Optional()], render_kw={"inputmode": "numeric"})
    responsible_prescriber = SelectField("Ansvarig förskrivare", validators=[Optional()], validate_choice=False)
    work_order_type = SelectField("Arbetsordertyp", choices=_choices(WORK_ORDER_TYPES, "Välj typ"),
                                  validators=[Optional()], validate_choice=False)
    note = TextAreaField("Anteckning", validators=[Optional(), Length(max=MAX_NOTE)])


class CancelForm(FlaskForm):
    reason = TextAreaField("Skäl", validators=[InputRequired("Ange varför ärendet makuleras."), Length(max=500)])
    recapture = RadioField("Därefter", choices=[SelectChoice("0", "Bara makulera"),
                                                SelectChoice("1", "Makulera och registrera på nytt")], default="0")


class StepForm(FlaskForm):
    note = TextAreaField("Anteckning", validators=[Optional(), Length(max=2000)])


class CallForm(FlaskForm):
    caller_type = SelectField("Vem ringde", choices=_choices(CALLER_TYPES, "Välj"), validate_choice=False)
    topic = SelectField("Gällde", choices=_choices(TOPICS, "Välj"), validate_choice=False)
    outcome = SelectField("Utfall", choices=_choices(OUTCOMES, "Välj"), validate_choice=False)
    item = StringField("Reservnummer (om ett ärende registrerades)", validators=[Optional(), Length(max=12)])
    note = StringField("Kort anteckning (inga personuppgifter)", validators=[Optional(), Length(max=500)])


class ConfirmForm(FlaskForm):
    """Only the CSRF token."""

"""Forms of the status pages: the public subscription and IT staff's publishing forms (CSRF protected)."""
from __future__ import annotations

from wtforms import DateTimeLocalField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from core.api.validation import NoPersonalData, TextForm

PUBLIC_HINT = "Visas publikt på statussidan och mejlas till prenumeranter. Skriv inga personuppgifter."
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
STATUS_CHOICES = [
    SelectChoice("investigating", "Felsökning pågår"),
    SelectChoice("identified", "Orsak identifierad"),
    SelectChoice("monitoring", "Åtgärdat – bevakas"),
    SelectChoice("resolved", "Löst"),
]
COMPONENT_CHOICES = [
    SelectChoice("main_server", "Huvudservern"),
    SelectChoice("reference_target", "Regionens IT-miljö (referensmål)"),
    SelectChoice("customer_service", "Kundservicens anslutning"),
]


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes: works without JavaScript."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def close_driftinfo_field() -> CheckboxesField:
    return CheckboxesField("Avsluta driftinfo", coerce=int, validators=[Optional()])


class SubscribeForm(TextForm):
    email = StringField("E-postadress", validators=[
        DataRequired("Ange din e-postadress."), Length(max=254),
        NoPersonalData("Ange bara en e-postadress; statusmejlen får inte kopplas till personuppgifter.")],
                        render_kw={"type": "email", "autocomplete": "email"})


class ConfirmForm(TextForm):
    """Only the CSRF token: a link preview or mail scanner must not confirm or unsubscribe."""


class DriftinfoForm(TextForm):
    title = StringField("Rubrik", validators=[DataRequired("Ange en rubrik."), Length(max=200)])
    body = TextAreaField("Text", validators=[DataRequired("Skriv en text."), Length(max=2000)])
    incident_id = SelectField("Gäller händelse", coerce=int, validators=[Optional()])
    valid_until = DateTimeLocalField("Giltig till (svensk tid, frivilligt)", format=LOCAL_FORMAT,
                                     validators=[Optional()])


class DriftinfoWithdrawForm(TextForm):
    reason = StringField("Skäl", validators=[DataRequired("Ange skälet."), Length(max=1000)])


class PrognosisForm(TextForm):
    incident_id = SelectField("Händelse", coerce=int)
    text = TextAreaField("Prognos", validators=[DataRequired("Skriv prognosen."), Length(max=2000)])
    expected_restoration_at = DateTimeLocalField(
        "Beräknat åtgärdat (svensk tid)", format=LOCAL_FORMAT,
        validators=[DataRequired("Ange datum och klockslag.")])


class IncidentUpdateForm(TextForm):
    incident_id = SelectField("Händelse", coerce=int)
    status = SelectField("Status", choices=STATUS_CHOICES)
    message = TextAreaField("Uppdatering", validators=[DataRequired("Skriv en uppdatering."), Length(max=2000)])
    close_driftinfo = close_driftinfo_field()


class ReserveActivateForm(TextForm):
    incident_id = SelectField("Händelse", coerce=int)
    reason = TextAreaField("Skäl", validators=[DataRequired("Ange skälet."), Length(max=1000)])


class ReserveDeactivateForm(TextForm):
    reason = TextAreaField("Skäl / bekräftelse", validators=[DataRequired("Ange skälet."), Length(max=1000)])
    close_driftinfo = close_driftinfo_field()


class TelephonyForm(TextForm):
    disrupted = RadioField("Telefonin", choices=[SelectChoice("1", "Störd"), SelectChoice("0", "Fungerar igen")],
                           validators=[DataRequired("Välj ett läge.")])
    message = TextAreaField("Meddelande", validators=[DataRequired("Skriv ett meddelande."), Length(max=2000)])


class MaintenanceForm(TextForm):
    component = SelectField("Komponent", choices=COMPONENT_CHOICES)
    starts_at = DateTimeLocalField("Från (svensk tid)", format=LOCAL_FORMAT,
                                   validators=[DataRequired("Ange början.")])
    ends_at = DateTimeLocalField("Till (svensk tid)", format=LOCAL_FORMAT, validators=[DataRequired("Ange slutet.")])
    reason = StringField("Orsak", validators=[DataRequired("Ange orsaken."), Length(max=500)])

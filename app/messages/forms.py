"""The form for writing a message to a user or a unit."""
from __future__ import annotations

from wtforms import MultipleFileField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from app.messages.models import BODY_MAX, SUBJECT_MAX
from core.api.validation import TextForm


def _optional_int(value: object) -> int | None:
    return int(value) if value not in (None, "", "None") and str(value).isdigit() else None


class ComposeForm(TextForm):
    recipient_kind = RadioField(
        "Mottagare",
        choices=[SelectChoice("user", "En användare"), SelectChoice("unit", "En förskrivande enhet (alla dess användare)")],
        default="user", validators=[InputRequired("Välj om meddelandet går till en användare eller en enhet.")],
    )
    recipient_user = SelectField("Användare", coerce=_optional_int, validate_choice=False)
    recipient_unit = SelectField("Förskrivande enhet", coerce=_optional_int, validate_choice=False)
    subject = StringField("Ämne *", validators=[DataRequired("Ange ett ämne."), Length(
        max=SUBJECT_MAX, message=f"Ämnet får vara högst {SUBJECT_MAX} tecken.")])
    body = TextAreaField("Meddelande *", validators=[DataRequired("Skriv ett meddelande."), Length(
        max=BODY_MAX, message=f"Meddelandet får vara högst {BODY_MAX} tecken.")], render_kw={"rows": 8})
    attachments = MultipleFileField("Bilagor")

    def validate_recipient_user(self, field: SelectField) -> None:
        if self.recipient_kind.data == "user" and field.data is None:
            raise ValidationError("Välj en användare.")

    def validate_recipient_unit(self, field: SelectField) -> None:
        if self.recipient_kind.data == "unit" and field.data is None:
            raise ValidationError("Välj en enhet.")

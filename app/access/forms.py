"""Forms of the access flows. Required fields are decided by the service (app.access.rules), so the
web form and any other caller refuse the same things; the forms check shapes and lengths."""
from __future__ import annotations

from datetime import datetime

from wtforms import (
    DateField, PasswordField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField, widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from app.access.rules import CHANGE_LABELS, FIELD_LABELS, Kind
from app.access.services import ApplicationInput
from core.api.validation import NoPersonalData, TextForm
from core.auth.roles import ROLE_LABELS
from core.errors import ValidationFailed

ROLE_CHOICES = [SelectChoice("", "Välj roll")] + [SelectChoice(role.value, label) for role, label in ROLE_LABELS.items()]
OFF = {"autocomplete": "off"}
# Applications and their decisions are mailed to managers and applicants: no patient's data in free text.
MAILED_WHY = "Ärendet mejlas och får inte innehålla personuppgifter om patienter."


class SwedishDateField(DateField):
    """A date field whose error speaks Swedish."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = datetime.strptime(valuelist[0].strip(), "%Y-%m-%d").date()
        except ValueError:
            self.data = None
            raise ValueError("Ange datum som ÅÅÅÅ-MM-DD.") from None


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _text(label: str, max_length: int = 150, **render_kw: str) -> StringField:
    return StringField(label, validators=[Optional(), Length(max=max_length, message=f"Högst {max_length} tecken.")],
                       render_kw=render_kw or None)


class _ApplicantForm(TextForm):
    hsa_id = _text("HSA-id", 40)
    product_areas = CheckboxesField(FIELD_LABELS["product_areas"], validate_choice=False)
    manager_phone = _text("Ansvarig chefs telefon", 40, autocomplete="off", inputmode="tel")
    note = TextAreaField("Övrigt", validators=[Optional(), Length(max=1000, message="Högst 1000 tecken."),
                                               NoPersonalData(MAILED_WHY)],
                         render_kw={"rows": 3})

    def to_input(self, kind: str) -> ApplicationInput:
        """Return what the form holds as the service's input."""
        values = {name: field.data for name, field in self._fields.items() if name in ApplicationInput.__dataclass_fields__}
        values = {k: ("" if v is None and k not in ("starts_on", "ends_on") else v) for k, v in values.items()}
        values["product_areas"] = tuple(values.get("product_areas") or ())
        values["kind"] = kind
        return ApplicationInput(**values)

    def show_errors(self, exc: ValidationFailed) -> None:
        """Put each of the service's errors on its field, or at the top of the form."""
        for error in exc.errors:
            field = self._fields.get(error.field)
            if field is None:
                self.form_errors.append(error.message)
            else:
                field.errors = [*field.errors, error.message]


class NewApplicationForm(_ApplicantForm):
    name = _text("Namn (förnamn och efternamn) *", autocomplete="name")
    email = _text("E-post *", 254, autocomplete="email", inputmode="email")
    phone = _text("Telefon *", 40, autocomplete="tel", inputmode="tel")
    workplace = _text("Arbetsplats *")
    role = SelectField("Roll *", choices=ROLE_CHOICES, validate_choice=False)
    units = _text("Kundnummer (förskrivande enheter)", 400, **OFF)
    manager_name = _text("Ansvarig chefs namn *", **OFF)
    manager_email = _text("Ansvarig chefs e-post *", 254, autocomplete="off", inputmode="email")


class ChangeApplicationForm(_ApplicantForm):
    kind = RadioField("Ärendet gäller *", choices=[
        SelectChoice(Kind.CHANGE.value, "Ändring av behörighet"),
        SelectChoice(Kind.TERMINATION.value, "Avslut av behörighet (anställningen upphör)"),
    ], default=Kind.CHANGE.value, validate_choice=False)
    username = _text("Användarnamn *", 64, autocomplete="off", autocapitalize="none", spellcheck="false")
    name = _text("Namn (förnamn och efternamn) *", autocomplete="name")
    change_type = RadioField("Ändringen gäller", choices=[SelectChoice(c.value, label) for c, label in
                                                          CHANGE_LABELS.items()], validate_choice=False)
    new_name = _text("Nytt namn")
    starts_on = SwedishDateField("Från och med", validators=[Optional()])
    ends_on = SwedishDateField("Till och med", validators=[Optional()])
    email = _text("E-post", 254, autocomplete="email", inputmode="email")
    phone = _text("Telefon", 40, autocomplete="tel", inputmode="tel")
    workplace = _text("Ny arbetsplats")
    role = SelectField("Ny roll", choices=ROLE_CHOICES, validate_choice=False)
    units = _text("Kundnummer (förskrivande enheter)", 400, **OFF)
    manager_name = _text("Ansvarig chefs namn *", **OFF)
    manager_email = _text("Ansvarig chefs e-post *", 254, autocomplete="off", inputmode="email")

    def to_input(self, kind: str | None = None) -> ApplicationInput:
        return super().to_input(kind or self.kind.data or "")


class ForgotPasswordForm(TextForm):
    identifier = StringField("Användarnamn eller e-post", validators=[
        Length(max=254, message="Högst 254 tecken."),
        NoPersonalData("Ange ditt användarnamn eller din e-postadress, inget personnummer.")],
                             render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"})


class SetPasswordForm(TextForm):
    # Seed 003: passwords may not be saved in the browser.
    password = PasswordField("Nytt lösenord *", validators=[Length(max=256)], render_kw={"autocomplete": "new-password"})
    repeated = PasswordField("Upprepa lösenordet *", validators=[Length(max=256)],
                             render_kw={"autocomplete": "new-password"})


class ApproveForm(TextForm):
    username = _text("Användarnamn för det nya kontot", 64, autocomplete="off", autocapitalize="none")


class ReturnForm(TextForm):
    missing = CheckboxesField("Det här saknas eller behöver rättas", validate_choice=False,
                              choices=[SelectChoice(k, v) for k, v in FIELD_LABELS.items() if k != "kind"])
    comment = TextAreaField("Kommentar till chefen (inga personnummer)",
                            validators=[Optional(), Length(max=1000, message="Högst 1000 tecken."),
                                        NoPersonalData(MAILED_WHY)],
                            render_kw={"rows": 3})


class RejectForm(TextForm):
    reason = TextAreaField("Motivering (inga personnummer) *",
                           validators=[Optional(), Length(max=1000, message="Högst 1000 tecken."),
                                       NoPersonalData(MAILED_WHY)],
                           render_kw={"rows": 3})

"""Forms of the back-registration pages (CSRF protected)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from sync.rules import RESOLUTION_LABELS

NOTE_HINT = "Sparas i spårbarhetsloggen tillsammans med ditt namn och tiden."


class ApproveForm(FlaskForm):
    note = TextAreaField("Kommentar (valfri)", validators=[Optional(), Length(max=1000)])


class NoteForm(FlaskForm):
    """Cancel or retry: a reason is asked for (required for cancel, checked by the service)."""

    note = TextAreaField("Motivering", validators=[Optional(), Length(max=1000)])


class ResolveForm(FlaskForm):
    action = RadioField("Lösning", choices=[SelectChoice(value, label) for value, label in RESOLUTION_LABELS.items()],
                        validators=[DataRequired("Välj hur konflikten ska lösas.")])
    note = TextAreaField("Motivering", validators=[DataRequired("Skriv en kort motivering."), Length(max=1000)])


def edit_form(fields: list[tuple[str, object]], formdata=None) -> FlaskForm:  # noqa: ANN001
    """Return a form with one text field per editable payload field, plus the reason."""

    class EditForm(FlaskForm):
        note = TextAreaField("Motivering", validators=[DataRequired("Skriv varför posten ändras."),
                                                       Length(max=1000)])

    for name, value in fields:
        setattr(EditForm, f"field_{name}", StringField(name, default="" if value is None else str(value),
                                                       validators=[Length(max=2000)]))
    return EditForm(formdata=formdata) if formdata is not None else EditForm()

"""Forms of the back-registration pages (CSRF protected)."""
from __future__ import annotations

from collections.abc import Mapping

from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from sync.correction import LABELS
from sync.rules import RESOLUTION_LABELS

NOTE_HINT = "Sparas i spårbarhetsloggen tillsammans med ditt namn och tiden."


# The item page holds several of these forms: each field has an id of its own, so each label finds its field.
class ApproveForm(FlaskForm):
    note = TextAreaField("Kommentar (valfri)", id="godkann-note", validators=[Optional(), Length(max=1000)])


class BulkApproveForm(FlaskForm):
    """Approve the checked items of the review queue (the keys come as repeated `nyckel` values)."""

    note = TextAreaField("Kommentar (valfri, sparas på varje post)", validators=[Optional(), Length(max=1000)])


class NoteForm(FlaskForm):
    """Cancel or retry: a reason is asked for (required for cancel, checked by the service)."""

    note = TextAreaField("Motivering", id="makulera-note", validators=[Optional(), Length(max=1000)])


class ResolveForm(FlaskForm):
    action = RadioField("Lösning", choices=[SelectChoice(value, label) for value, label in RESOLUTION_LABELS.items()],
                        validators=[DataRequired("Välj hur konflikten ska lösas.")])
    note = TextAreaField("Motivering", id="los-note",
                         validators=[DataRequired("Skriv en kort motivering."), Length(max=1000)])


def correction_form(current: Mapping[str, str], formdata=None) -> FlaskForm:  # noqa: ANN001
    """Return a form with the item's correctable fields (in Swedish, filled with today's values) and the reason."""

    class CorrectionForm(FlaskForm):
        note = TextAreaField("Motivering", id="rattelse-note",
                             validators=[DataRequired("Skriv varför posten rättas."), Length(max=1000)])

    for name, value in current.items():
        kind = TextAreaField if name == "remark" else StringField
        setattr(CorrectionForm, name, kind(LABELS[name], id=f"rattelse-{name}", default=value,
                                           validators=[Length(max=1000)]))
    return CorrectionForm(formdata=formdata) if formdata is not None else CorrectionForm()


def correction_values(form: FlaskForm, current: Mapping[str, str]) -> dict[str, str]:
    return {name: getattr(form, name).data or "" for name in current}

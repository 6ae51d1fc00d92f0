from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField(
        "Användarnamn",
        validators=[DataRequired("Ange användarnamn."), Length(max=64)],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
    # Seed 003: passwords may not be saved in the browser.
    password = PasswordField(
        "Lösenord",
        validators=[DataRequired("Ange lösenord."), Length(max=256)],
        render_kw={"autocomplete": "off"},
    )

"""Login and logout pages."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required, logout_user

from core.auth import oidc, services
from core.auth.forms import LoginForm
from core.auth.guard import public
from core.auth.login_audit import PASSWORD

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Return a same-site path to continue to after login, never another host."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("web.start")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if request.method == "POST" and not current_app.config["PASSWORD_LOGIN_ENABLED"]:
        abort(403)
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.username.data, form.password.data, request.remote_addr or "-")
        except services.LoginThrottled:
            form.form_errors.append("För många misslyckade inloggningar. Försök igen om en stund.")
            status = 429
        except services.LoginRefused:
            form.form_errors.append("Fel användarnamn eller lösenord.")
            status = 401
        else:
            services.start_session(user, PASSWORD)
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    id_token = oidc.forget_id_token()
    logout_user()
    flash("Du är utloggad.", "info")
    return oidc.end_provider_session(id_token) or redirect(url_for("auth.login"))

"""Public pages of seed 003: apply for access, report a change or termination, complete a returned
application, forgotten password and choosing a password through a link. No login needed."""
from __future__ import annotations

import time
from collections.abc import Callable

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for

from app.access import password_reset, services
from app.access.forms import ChangeApplicationForm, ForgotPasswordForm, NewApplicationForm, SetPasswordForm
from app.access.rules import FIELD_LABELS, Kind
from app.access.services import LinkInvalid
from core.auth.guard import public
from core.errors import ValidationFailed
from core.web import throttle
from app.patients.services import all_product_areas

bp = Blueprint("access", __name__)


def _link_token() -> str:
    # Links carry their token in the query string, which the access log never records (bin/web).
    return request.args.get("t", "")

RECEIPT_KEY = "access_receipt"


@bp.get("/behorighet")
@public
def start():
    return render_template("access/start.html")


@bp.route("/behorighet/ny", methods=["GET", "POST"])
@public
def apply():
    return _application_page(NewApplicationForm(), Kind.NEW.value, "access/apply.html")


@bp.route("/behorighet/andring", methods=["GET", "POST"])
@public
def change():
    form = ChangeApplicationForm()
    return _application_page(form, None, "access/change.html")


def _application_page(form, kind: str | None, template: str,  # noqa: ANN001
                      save: Callable = services.submit_application, **context):  # noqa: ANN003, ANN202
    """Show the application form; on a valid POST save it with `save` and show the receipt."""
    form.product_areas.choices = [(a.code, a.name) for a in all_product_areas()]
    status = 200
    if form.validate_on_submit():
        if not throttle.allow("access", (form.email.data, form.manager_email.data)):
            return throttle.refusal()
        try:
            application = save(form.to_input(kind))
        except LinkInvalid as exc:
            return render_template("access/link_invalid.html", message=exc.message), exc.status
        except ValidationFailed as exc:
            form.show_errors(exc)
            status = exc.status
        else:
            session[RECEIPT_KEY] = application.reference
            return redirect(url_for("access.received"))
    elif request.method == "POST":
        status = 422
    return render_template(template, form=form, labels=FIELD_LABELS, **context), status


@bp.get("/behorighet/mottagen")
@public
def received():
    reference = session.get(RECEIPT_KEY)
    if reference is None:
        return redirect(url_for("access.start"))
    return render_template("access/received.html", reference=reference)


@bp.route("/behorighet/komplettera", methods=["GET", "POST"])
@public
def complete():
    token = _link_token()
    try:
        application = services.application_for_completion(token)
    except LinkInvalid as exc:
        return render_template("access/link_invalid.html", message=exc.message), exc.status
    is_new = application.kind == Kind.NEW.value
    form_class = NewApplicationForm if is_new else ChangeApplicationForm
    form = form_class() if request.method == "POST" else form_class(obj=_Prefill(application))
    return _application_page(form, application.kind, "access/apply.html" if is_new else "access/change.html",
                             save=lambda data: services.complete_application(token, data), completing=application)


class _Prefill:
    """The stored application in the shape the form reads (product areas as codes, units as text)."""

    def __init__(self, application) -> None:  # noqa: ANN001
        self._application = application
        self.product_areas = [a.code for a in application.product_areas]
        self.units = ", ".join(u.customer_number for u in application.units)

    def __getattr__(self, name: str):  # noqa: ANN204
        value = getattr(self._application, name)
        return "" if value is None and name not in ("starts_on", "ends_on") else value


@bp.route("/glomt-losenord", methods=["GET", "POST"])
@public
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        if not throttle.allow("reset", (form.identifier.data,)):
            return throttle.refusal()
        started = time.monotonic()
        password_reset.request_password_reset(form.identifier.data or "")
        # The same answer, no sooner, whether or not the account exists.
        floor = float(current_app.config["ACCESS_RESET_MIN_RESPONSE_SECONDS"])
        time.sleep(max(0.0, floor - (time.monotonic() - started)))
        flash("Om uppgifterna hör till ett aktivt konto är ett e-postmeddelande på väg med en länk för att "
              "välja nytt lösenord. Länken gäller en kort tid och kan bara användas en gång.", "info")
        return redirect(url_for("access.forgot_password"))
    return render_template("access/forgot.html", form=form), 422 if request.method == "POST" else 200


@bp.route("/losenord", methods=["GET", "POST"])
@public
def set_password():
    token = _link_token()
    try:
        user = password_reset.account_for_password_link(token)
    except LinkInvalid as exc:
        return render_template("access/link_invalid.html", message=exc.message), exc.status
    form = SetPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            password_reset.set_password(token, form.password.data, form.repeated.data)
        except LinkInvalid as exc:
            return render_template("access/link_invalid.html", message=exc.message), exc.status
        except ValidationFailed as exc:
            for error in exc.errors:
                getattr(form, error.field).errors = [error.message]
            status = exc.status
        else:
            flash("Ditt lösenord är sparat. Logga in med ditt användarnamn och det nya lösenordet.", "info")
            return redirect(url_for("auth.login"))
    elif request.method == "POST":
        status = 422
    return render_template("access/set_password.html", form=form, username=user.username), status

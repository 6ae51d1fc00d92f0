"""The public status page (HTML, JSON, Atom) and the e-mail subscription; no login, no personal data."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from core.auth.guard import public
from core.auth.roles import Permission
from core.clock import utcnow
from core.errors import ValidationFailed
from core.web import throttle
from status import public_page, subscriptions
from status.forms import ConfirmForm, SubscribeForm

bp = Blueprint("status", __name__, template_folder="templates", static_folder="static",
               static_url_path="/status/static")


def _render_page(form: SubscribeForm, code: int = 200):
    now = utcnow()
    status, _ = public_page.public_status(now)
    can_manage = current_user.is_authenticated and current_user.can(Permission.PUBLISH_STATUS)
    return render_template("status/page.html", status=status, form=form, can_manage=can_manage,
                           breadcrumbs=[("Driftstatus", None)]), code


@bp.get("/status")
@public
def page():
    return _render_page(SubscribeForm())


@bp.get("/status.json")
@public
def json_status():
    # status.wsgi answers the same request from these bytes and headers while the cache is fresh.
    rendered = public_page.rendered_status(utcnow())
    response = current_app.response_class(rendered.body, mimetype="application/json")
    response.headers["Cache-Control"] = "public, max-age=5"
    response.set_etag(rendered.etag, weak=True)  # the facts, not the bytes: generated_at differs (content_etag)
    if request.if_none_match.contains_weak(rendered.etag):
        response.status_code = 304  # werkzeug drops the body and the entity headers
    return response


@bp.get("/status/feed.atom")
@public
def feed():
    now = utcnow()
    status, _ = public_page.public_status(now)
    entries = public_page.feed_entries()
    body = render_template("status/feed.atom.xml", status=status, entries=entries, now=now,
                           base=request.url_root.rstrip("/"))
    return current_app.response_class(body, mimetype="application/atom+xml")


@bp.post("/status/prenumerera")
@public
def subscribe():
    form = SubscribeForm()
    if not form.validate_on_submit():
        return _render_page(form, 400)
    if not throttle.allow("status", (form.email.data,)):
        return throttle.refusal()
    try:
        subscriptions.request_subscription(form.email.data)
    except ValidationFailed as exc:
        form.email.errors = [error.message for error in exc.errors]
        return _render_page(form, 422)
    flash("Tack! Om adressen inte redan prenumererar är ett mejl på väg till den med en länk som du "
          "bekräftar prenumerationen med.", "info")
    return redirect(url_for("status.page") + "#prenumerera")


@bp.route("/status/prenumeration/bekrafta/<token>", methods=["GET", "POST"])
@public
def confirm(token: str):
    form = ConfirmForm()
    if form.validate_on_submit():
        done = subscriptions.confirm_subscription(token)
        return render_template("status/subscription.html", action="confirm", done=done, valid=done, form=form), (
            200 if done else 404)
    valid = subscriptions.confirmable(token)
    return render_template("status/subscription.html", action="confirm", done=False, valid=valid, form=form), (
        200 if valid else 404)


@bp.route("/status/prenumeration/avsluta/<token>", methods=["GET", "POST"])
@public
def unsubscribe(token: str):
    form = ConfirmForm()
    if form.validate_on_submit():
        done = subscriptions.unsubscribe(token)
        return render_template("status/subscription.html", action="unsubscribe", done=done, valid=done,
                               form=form), (200 if done else 404)
    valid = subscriptions.unsubscribable(token)
    return render_template("status/subscription.html", action="unsubscribe", done=False, valid=valid, form=form), (
        200 if valid else 404)

"""Pages of the SITHS login: off to the provider, back from it, and "no account" for an unknown HSA-id."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for

from core.auth import oidc
from core.auth.guard import public

bp = Blueprint("siths", __name__)


@bp.get("/login/siths")
@public
def start():
    if not oidc.is_enabled():
        abort(404)
    try:
        return oidc.start_login()
    except oidc.SithsRefused as refused:
        flash(str(refused), "error")
        return redirect(url_for("auth.login"))


@bp.get("/login/siths/callback")
@public
def callback():
    if not oidc.is_enabled():
        abort(404)
    try:
        oidc.finish_login()
    except oidc.SithsRefused as refused:
        flash(str(refused), "error")
        return redirect(url_for("auth.login"))
    except oidc.UnknownHsaId:
        return render_template("auth/siths_no_account.html"), 403
    return redirect(url_for("web.start"))

"""The page shell: start page, tabs, banners, breadcrumbs, tables and template helpers."""
from __future__ import annotations

from datetime import date, datetime

from flask import Flask, current_app, request
from markupsafe import Markup

from core.auth.roles import Permission
from core import formatting
from core.clock import to_local
from core.signals import flat_values
from core.web.icons import icon
from core.web.navigation import visible_tabs
from core.web.signals import page_banners


def _banners() -> list[dict]:
    """Return the banners for the top of the page: whatever the receivers of `page_banners` return."""
    return flat_values(page_banners, current_app._get_current_object())  # noqa: SLF001


def is_static_endpoint(endpoint: str | None) -> bool:
    """Return whether the endpoint serves static files (the app's or a blueprint's)."""
    return endpoint is not None and (endpoint == "static" or endpoint.endswith(".static"))


def format_datetime(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """Format a stored UTC moment in Swedish local time."""
    local = to_local(moment)
    return local.strftime(pattern) if local else ""


def kept_together(text: str) -> Markup | str:
    """Return the text as one unbreakable piece of HTML: browsers wrap '2026-11-09' at its hyphens
    in a narrow table cell otherwise."""
    return Markup('<span class="nowrap">%s</span>') % text if text else text


def _dates_kept_together(value: object) -> object:
    """Jinja's finalize: a date printed as it is ({{ row.start_date }}) is kept on one line too."""
    return kept_together(value.isoformat()) if type(value) is date else value


def init_app(app: Flask) -> None:
    from core.web import bounds
    from core.web.views import bp

    bounds.init_app(app)

    app.register_blueprint(bp)
    # Dates and times shown on pages never wrap; code that needs the plain text calls the functions.
    app.add_template_filter(lambda moment, pattern="%Y-%m-%d %H:%M": kept_together(format_datetime(moment, pattern)),
                            "local")
    app.add_template_filter(lambda moment: kept_together(formatting.local_text(moment)), "stockholm")
    app.jinja_env.finalize = _dates_kept_together
    app.add_template_global(icon)
    for name in ("money", "number", "percent"):
        app.add_template_filter(getattr(formatting, name), name)

    @app.context_processor
    def _shell():
        return {
            "system_name": current_app.config["SYSTEM_NAME"],
            "tabs": visible_tabs(),
            "banners": _banners(),
            # Lets a template offer an action only once the module providing it is installed.
            "endpoints": current_app.view_functions.keys(),
            "permission": Permission,
        }

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'"
        )
        # Anything may carry personal data (API JSON and PDFs, CSV downloads, pages), so nothing
        # is stored by a browser or proxy; static files and views that set their own caching
        # (the public status JSON) keep theirs.
        if not is_static_endpoint(request.endpoint):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


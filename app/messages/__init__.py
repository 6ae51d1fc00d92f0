"""Messages to users and units on My page, with attachments, the start-page notice and the e-mail notice."""
from __future__ import annotations

from flask import Flask, g
from flask_login import current_user

from app.messages.models import Message, MessageAttachment, MessageDelivery  # noqa: F401 - for Alembic


def unread_message_count() -> int:
    """Return the logged-in user's unread messages, counted once per request (0 when logged out)."""
    if not current_user.is_authenticated:
        return 0
    if "unread_message_count" not in g:
        from app.messages.services import unread_count

        g.unread_message_count = unread_count(current_user.id)
    return g.unread_message_count


def init_app(app: Flask) -> None:
    """Register the views, the API and the template global the start page and My page use."""
    from app.messages.api import bp as api_bp
    from app.messages.views import bp

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    app.add_template_global(unread_message_count, "unread_message_count")

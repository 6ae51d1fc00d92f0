"""Confirm before what cannot be undone: a page that asks, posting the same form back with consent.

Works without JavaScript: the first POST (from a button in a list) renders the question; its
"Ja" button posts the same fields again with `bekraftat=ja`, and only that POST acts.
"""
from __future__ import annotations

from flask import render_template, request

CONFIRMED = "bekraftat"


def confirmed() -> bool:
    """Return whether this POST carries the user's confirmation."""
    return request.form.get(CONFIRMED) == "ja"


def ask_to_confirm(question: str, consequence: str, action_label: str, back_url: str) -> tuple[str, int]:
    """Return the page asking the question; "Ja" posts the same form again to the same address."""
    carried = [(name, value) for name, values in request.form.lists() if name not in ("csrf_token", CONFIRMED)
               for value in values]
    return render_template("confirm.html", question=question, consequence=consequence, action_label=action_label,
                           back_url=back_url, carried=carried, action_url=request.full_path.rstrip("?")), 200

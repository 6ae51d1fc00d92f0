"""The tabs of the page shell; each shows when its module is installed and the user may use it."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_login import current_user

from core.auth.roles import Permission


@dataclass(frozen=True)
class Tab:
    label: str
    endpoint: str
    permission: Permission | None  # None: everyone logged in
    sections: tuple[str, ...] = ()  # further blueprints whose pages belong under this tab

    def is_current(self, blueprint: str | None) -> bool:
        return blueprint is not None and (self.endpoint.split(".")[0] == blueprint or blueprint in self.sections)


TABS = (
    Tab("Patient", "patients.search", Permission.READ_PATIENTS, sections=("prescribing",)),
    Tab("Produkt", "products.search", Permission.READ_PRODUCTS),
    Tab("Min sida", "mypage.index", Permission.USE_MY_PAGE, sections=("messages", "withdrawals", "orders")),
    Tab("Efterregistrering", "sync.index", Permission.REVIEW_SYNC),
    Tab("Status", "status.page", None),
    Tab("Administration", "admin.index", Permission.MANAGE_USERS, sections=("access_admin",)),
)


def visible_tabs() -> list[Tab]:
    """Return the tabs the logged-in user can open."""
    if not current_user.is_authenticated:
        return []
    return [
        tab for tab in TABS
        if tab.endpoint in current_app.view_functions
        and (tab.permission is None or current_user.can(tab.permission))
    ]

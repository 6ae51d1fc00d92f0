"""The "Reservrutin" tab, added to the page shell's tabs for those who work the routine.

The shell's tabs are a fixed list (app/web/navigation.py); rather than edit it, this context
processor, registered after the shell's, returns the same tabs with ours placed after "Status".
If the tab moves into core.web.navigation.TABS, delete this module.
"""
from __future__ import annotations

from flask import Flask, current_app
from flask_login import current_user

from core.auth.roles import Permission
from core.web.navigation import Tab, visible_tabs

RESERVE_TAB = Tab("Reservrutin", "reserve.index", Permission.VIEW_RESERVE_ROUTINE)


def tabs_with_reserve() -> list[Tab]:
    tabs = visible_tabs()
    if not current_user.is_authenticated or RESERVE_TAB.endpoint not in current_app.view_functions:
        return tabs
    if not current_user.can(Permission.VIEW_RESERVE_ROUTINE) or RESERVE_TAB in tabs:
        return tabs
    position = next((i + 1 for i, tab in enumerate(tabs) if tab.endpoint == "status.page"), len(tabs))
    return [*tabs[:position], RESERVE_TAB, *tabs[position:]]


def init_app(app: Flask) -> None:
    @app.context_processor
    def _reserve_tab():
        return {"tabs": tabs_with_reserve()}

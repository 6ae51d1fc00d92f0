"""The "Reservrutin" and "Arbetsordrar" tabs, added to the page shell's tabs for those who work the routine.

The shell's tabs are a fixed list (app/web/navigation.py); rather than edit it, this context
processor, registered after the shell's, returns the same tabs with ours placed after "Status".
If the tabs move into core.web.navigation.TABS, delete this module.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_login import current_user

from core.auth.roles import Permission
from core.web.navigation import Tab, visible_tabs


@dataclass(frozen=True)
class _PageTab(Tab):
    """A tab for one page of a blueprint that has a tab of its own: current only on that page."""

    def is_current(self, blueprint: str | None) -> bool:
        return request.endpoint == self.endpoint


class _ReserveTab(Tab):
    def is_current(self, blueprint: str | None) -> bool:
        return super().is_current(blueprint) and request.endpoint != WORK_ORDERS_TAB.endpoint


RESERVE_TAB = _ReserveTab("Reservrutin", "reserve.index", Permission.VIEW_RESERVE_ROUTINE)
WORK_ORDERS_TAB = _PageTab("Arbetsordrar", "reserve.work_order_list", Permission.MANAGE_WORK_ORDERS)


def tabs_with_reserve() -> list[Tab]:
    tabs = visible_tabs()
    if not current_user.is_authenticated:
        return tabs
    ours = [tab for tab in (RESERVE_TAB, WORK_ORDERS_TAB)
            if tab.endpoint in current_app.view_functions and current_user.can(tab.permission) and tab not in tabs]
    position = next((i + 1 for i, tab in enumerate(tabs) if tab.endpoint == "status.page"), len(tabs))
    return [*tabs[:position], *ours, *tabs[position:]]


def init_app(app: Flask) -> None:
    @app.context_processor
    def _reserve_tab():
        return {"tabs": tabs_with_reserve()}

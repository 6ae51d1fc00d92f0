"""Signals the page shell sends."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

page_banners = _signals.signal("page-banners", doc="""
Asked once per rendered page for the banners at its top. Receivers return a list of
{"level", "title", "text"} dicts (the reserve routine: the outage / reserve banner).
""")

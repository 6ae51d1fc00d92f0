"""Named moments the tests reason about (naive UTC, as the store keeps them).

The outage day: Monday 2 November 2026, the main server's first failed probe at 10:00 in Sweden
(CET), when the system owner is on duty; the reserve routine applies four hours later.
"""
from __future__ import annotations

from datetime import datetime, timedelta

OUTAGE_START = datetime(2026, 11, 2, 9, 0)  # 10:00 CET, a Monday: on duty
LAST_GOOD_PROBE = OUTAGE_START - timedelta(seconds=60)
CONFIRMED = OUTAGE_START + timedelta(seconds=40)  # the monitor's confirmation of the outage
FOUR_HOURS_LATER = OUTAGE_START + timedelta(hours=4)  # seed 001: the reserve routine applies
SATURDAY_NIGHT = datetime(2026, 11, 7, 2, 0)  # 03:00 CET, a Saturday: off duty

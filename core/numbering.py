"""Take the next number of a series with one conditional UPDATE, safe under concurrent requests."""
from __future__ import annotations

from sqlalchemy import insert, update

from core.extensions import db
from core.models.numbering import NumberSeries

# First number of each series; prescription numbers are 9 digits, U-numbers `U` + 9 digits.
SERIES_START = {
    "prescription": 100_000_001,
    "withdrawal": 100_000_001,
}


def next_number(series: str) -> int:
    """Return the next number of the series inside the caller's transaction."""
    stmt = (
        update(NumberSeries)
        .where(NumberSeries.name == series)
        .values(next_value=NumberSeries.next_value + 1)
        .returning(NumberSeries.next_value)
    )
    incremented = db.session.execute(stmt).scalar()
    if incremented is not None:
        return incremented - 1
    # First use creates the series; a concurrent first use fails on the primary key.
    start = SERIES_START[series]
    db.session.execute(insert(NumberSeries).values(name=series, next_value=start + 1))
    return start

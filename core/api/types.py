"""Field types shared by the API's response schemas."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

import pydantic


def as_utc(moment: datetime) -> datetime:
    """Return a stored moment with its time zone: the store keeps UTC without one."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


# OpenAPI's date-time is RFC 3339, which requires the offset: stored moments leave as UTC with "Z".
UtcMoment = Annotated[datetime, pydantic.AfterValidator(as_utc)]

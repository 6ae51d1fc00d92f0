"""Query-string shapes shared by the API's list endpoints, for the OpenAPI description.

Views read request.args themselves; these models only tell clients (and the fuzzer) which
parameters exist and what they take.
"""
from __future__ import annotations

from typing import Literal

import pydantic

from core.web.tables import PAGE_SIZES

PageSize = Literal[PAGE_SIZES]  # type: ignore[valid-type]


class QueryModel(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")


class PageQuery(QueryModel):
    page: int | None = pydantic.Field(default=None, ge=1, le=2**31 - 1)
    per_page: PageSize | None = None


class TableQuery(PageQuery):
    sort: str | None = pydantic.Field(default=None, max_length=40, description="a column key")
    dir: Literal["asc", "desc"] | None = None

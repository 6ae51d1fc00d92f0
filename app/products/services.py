"""Article search for the Product tab and the API: by name part or number, and the advanced fields."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, or_, select

from core.errors import ValidationFailed
from core.extensions import db
from core.models import Article, ProductArea

MAX_TEXT = 100


@dataclass(frozen=True)
class ArticleCriteria:
    text: str = ""
    supplier: str = ""
    supplier_article_number: str = ""
    product_group: str = ""
    subgroup: str = ""
    area: str = ""

    @property
    def is_empty(self) -> bool:
        return not any((self.text, self.supplier, self.supplier_article_number, self.product_group, self.subgroup,
                        self.area))


def parse_article_criteria(args) -> ArticleCriteria:  # noqa: ANN001
    """Return the criteria from query arguments, refusing over-long values by field."""
    values = {}
    for name in ("text", "supplier", "supplier_article_number", "product_group", "subgroup", "area"):
        value = (args.get(name) or "").strip()
        if len(value) > MAX_TEXT:
            raise ValidationFailed.single(name, f"Högst {MAX_TEXT} tecken.")
        values[name] = value
    return ArticleCriteria(**values)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def article_query(criteria: ArticleCriteria) -> Select:
    """Return active articles matching every given criterion (text: number prefix or name part)."""
    query = select(Article).join(Article.product_area).where(Article.is_active.is_(True))
    if criteria.text:
        text = _escape_like(criteria.text)
        query = query.where(or_(Article.number.startswith(criteria.text, autoescape=True),
                                Article.name.ilike(f"%{text}%", escape="\\")))
    for column, value in ((Article.supplier, criteria.supplier), (Article.product_group, criteria.product_group),
                          (Article.subgroup, criteria.subgroup)):
        if value:
            query = query.where(column.ilike(f"%{_escape_like(value)}%", escape="\\"))
    if criteria.supplier_article_number:
        query = query.where(Article.supplier_article_number.startswith(criteria.supplier_article_number,
                                                                       autoescape=True))
    if criteria.area:
        query = query.where(ProductArea.code == criteria.area)
    return query


def facet_values() -> dict[str, list]:
    """Return the suppliers, product groups and (group, subgroup) pairs to offer in the advanced search.

    The subgroups follow the chosen product group: the page offers only the chosen group's, and
    narrows the list as soon as a group is picked.
    """
    def values(column) -> list[str]:  # noqa: ANN001
        return list(db.session.scalars(select(column).where(column.is_not(None)).distinct().order_by(column)))

    pairs = db.session.execute(select(Article.product_group, Article.subgroup).where(Article.subgroup.is_not(None))
                               .distinct().order_by(Article.subgroup)).all()
    return {"supplier": values(Article.supplier), "product_group": values(Article.product_group),
            "subgroups_of": [(group, sub) for group, sub in pairs]}


def get_article(article_id: int) -> Article | None:
    return db.session.get(Article, article_id)



"""Product areas and articles."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db

PRODUCT_AREA_CODES = ("inkontinens", "nutrition", "diabetes", "stomi")


class ProductArea(db.Model):
    __tablename__ = "product_areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(60))

    def __repr__(self) -> str:
        return f"<ProductArea {self.code}>"


class Article(db.Model):
    __tablename__ = "articles"
    __table_args__ = (
        CheckConstraint("package_size > 0", name="package_size_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        Index("ix_articles_product_area_name", "product_area_id", "name"),
        Index("ix_articles_supplier_article_number", "supplier_article_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Pieces in one package; quantities are prescribed in whole packages.
    package_size: Mapped[int]
    # Price in SEK of one package.
    unit_price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    supplier: Mapped[str] = mapped_column(String(100))
    supplier_article_number: Mapped[str] = mapped_column(String(50))
    product_group: Mapped[str] = mapped_column(String(100))
    subgroup: Mapped[str] = mapped_column(String(100))
    image: Mapped[str | None] = mapped_column(String(200))
    eco_label: Mapped[str | None] = mapped_column(String(100))
    product_area_id: Mapped[int] = mapped_column(ForeignKey("product_areas.id"))
    is_active: Mapped[bool] = mapped_column(default=True)

    product_area: Mapped[ProductArea] = relationship()

    def __repr__(self) -> str:
        return f"<Article {self.number}>"

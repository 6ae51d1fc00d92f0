"""GET /api/v1/articles: the article search of the Product tab."""
from __future__ import annotations

import pydantic
from flask import jsonify, request

from core.api.blueprints import api_blueprint
from core.api.docs import documented
from core.api.queries import TableQuery
from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.errors import ValidationFailed
from core.models import Article
from app.products import services
from app.products.views import COLUMNS
from core.web.tables import TableState, paginate_query

bp = api_blueprint("products_api", __name__, "/articles")

# The API's argument names, mapped onto the Product tab's criteria.
API_ARGS = {"q": "text", "supplier": "supplier", "supplier_article_no": "supplier_article_number",
            "group": "product_group", "subgroup": "subgroup", "area": "area"}
VIEW_ARGS = {"sort", "dir", "page", "per_page"}


class ArticleQuery(TableQuery):
    q: str | None = pydantic.Field(default=None, max_length=60)
    supplier: str | None = pydantic.Field(default=None, max_length=60)
    supplier_article_no: str | None = pydantic.Field(default=None, max_length=60)
    group: str | None = pydantic.Field(default=None, max_length=60)
    subgroup: str | None = pydantic.Field(default=None, max_length=60)
    area: str | None = pydantic.Field(default=None, max_length=40)


class ArticleItem(pydantic.BaseModel):
    id: int
    number: str
    name: str
    package_size: int
    unit_price: str
    supplier: str
    supplier_article_number: str
    product_group: str
    subgroup: str
    product_area: str
    eco_label: str | None
    image_url: str | None


class ArticlePage(pydantic.BaseModel):
    total: int
    page: int
    per_page: int
    articles: list[ArticleItem]


@bp.get("")
@permission_required(Permission.READ_PRODUCTS)
@documented("Search articles: q = number prefix or name part; supplier, supplier_article_no, group, subgroup, "
            "area; sort, dir, page, per_page", query=ArticleQuery,
            response=ArticlePage, tags=("products",), errors=(401, 403, 422))
def search():
    unknown = set(request.args) - set(API_ARGS) - VIEW_ARGS
    if unknown:
        raise ValidationFailed.single(sorted(unknown)[0], "unknown query parameter")
    criteria = services.parse_article_criteria({API_ARGS[k]: v for k, v in request.args.items() if k in API_ARGS})
    state = TableState.from_args(request.args, COLUMNS, default_sort="name")
    page = paginate_query(services.article_query(criteria), COLUMNS, state, tie_breaker=Article.id)
    items = [
        ArticleItem(id=a.id, number=a.number, name=a.name, package_size=a.package_size, unit_price=str(a.unit_price),
                    supplier=a.supplier, supplier_article_number=a.supplier_article_number,
                    product_group=a.product_group, subgroup=a.subgroup, product_area=a.product_area.code,
                    eco_label=a.eco_label, image_url=f"/static/articles/{a.image}" if a.image else None)
        for a in page.rows
    ]
    return jsonify(ArticlePage(total=page.total, page=page.state.page, per_page=page.state.per_page,
                               articles=items).model_dump())

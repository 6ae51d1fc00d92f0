"""The Produkt tab: article search, advanced search, images, eco-labels, saved searches."""
from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user

from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.errors import ValidationFailed
from core.models import Article
from app.patients.services import all_product_areas
from app.products import services
from app.savedsearches.services import searches_for
from core.web.tables import Column, TableState, paginate_query

bp = Blueprint("products", __name__, url_prefix="/produkt")

COLUMNS = (
    Column("number", "Artikelnr", Article.number),
    Column("name", "Benämning", Article.name),
    Column("package_size", "Förp.storlek", Article.package_size),
    Column("price", "Pris/förp.", Article.unit_price),
    Column("supplier", "Leverantör", Article.supplier),
    Column("supplier_article_number", "Lev. art.nr", Article.supplier_article_number),
    Column("group", "Produktgrupp", Article.product_group),
    Column("subgroup", "Undergrupp", Article.subgroup),
    Column("eco", "Miljömärkning"),
)
IMAGE_COLUMN = Column("image", "Bild")


@bp.get("/")
@permission_required(Permission.READ_PRODUCTS)
def search():
    error = None
    page = None
    try:
        criteria = services.parse_article_criteria(request.args)
    except ValidationFailed as exc:
        criteria, error = services.ArticleCriteria(), exc.errors[0]
    # Seed 000: "Bocka i ruta Visa bild så visas bilder (om bilder finns inlagda)."
    show_images = request.args.get("bild") == "1"
    columns = (*COLUMNS, IMAGE_COLUMN) if show_images else COLUMNS
    if "sok" in request.args and error is None:
        state = TableState.from_args(request.args, columns, default_sort="name")
        page = paginate_query(services.article_query(criteria), columns, state, tie_breaker=Article.id)
    return render_template(
        "products/search.html", criteria=criteria, page=page, error=error, facets=services.facet_values(),
        show_images=show_images,
        areas=all_product_areas(), saved=searches_for(current_user, "products"),
        breadcrumbs=[("Produkt", url_for("products.search"))],
    ), 400 if error else 200

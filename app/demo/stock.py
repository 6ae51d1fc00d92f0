"""Demo stock levels: warehouse 10 holds most of the catalogue, each municipal stock a share of it.

Call `seed_stock()` inside an app context after `seed_demo()` (the CLI: `flask seed-demo-stock`).
"""
from __future__ import annotations

import random

from sqlalchemy import insert, select

from core.clock import utcnow
from app.demo.seed import DEFAULT_SEED
from core.extensions import db
from core.models import Article, Warehouse
from core.store import begin_write
from app.withdrawals.models import StockLevel

CENTRAL_SHARE = 0.9  # of the active articles stocked in warehouse 10
MUNICIPAL_ARTICLES = 120  # per municipal stock


def seed_stock(seed: int = DEFAULT_SEED) -> int:
    """Give the warehouses stock levels, unless they have some already; return how many were created."""
    begin_write()
    if db.session.scalar(select(select(StockLevel.article_id).exists())):
        db.session.rollback()
        return 0
    rng = random.Random(f"{seed}:stock")
    now = utcnow()
    articles = list(db.session.scalars(select(Article.id).where(Article.is_active.is_(True)).order_by(Article.id)))
    rows = []
    for warehouse_id, number, kind in db.session.execute(
            select(Warehouse.id, Warehouse.number, Warehouse.kind).order_by(Warehouse.number)):
        if kind == "central":
            stocked = [a for a in articles if rng.random() < CENTRAL_SHARE]
            rows += [{"warehouse_id": warehouse_id, "article_id": a, "quantity": rng.randint(20, 800),
                      "updated_at": now} for a in stocked]
        else:
            stocked = rng.sample(articles, min(MUNICIPAL_ARTICLES, len(articles)))
            # Some run low, so a stock move is needed before an order from own stock can be filled.
            rows += [{"warehouse_id": warehouse_id, "article_id": a, "quantity": rng.choice((0, 2, 5, 10, 25, 40)),
                      "updated_at": now} for a in stocked]
    if rows:
        db.session.execute(insert(StockLevel.__table__), rows)
    db.session.commit()
    return len(rows)

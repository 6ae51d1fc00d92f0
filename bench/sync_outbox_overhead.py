"""What the outbox adds to saving a prescription: create_prescription with and without its outbox item.

    .venv/bin/python bench/sync_outbox_overhead.py                  # SQLite, 2 × 1,000 saves
    .venv/bin/python bench/sync_outbox_overhead.py --saves 3000 --database-url postgresql://postgres@127.0.0.1:5432/test

Each save is the real use case (validation, quantities, number series, rows, commit), one
patient each. Blocks of saves alternate between the real hook and a no-op in its place, so a
busy machine affects both alike; the medians per save and their difference are printed. The
issue's target: ≤ 2 ms per save.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import select  # noqa: E402

from core.extensions import db  # noqa: E402
from core.models import User  # noqa: E402
from app.prescribing.services import PrescriptionInput, RowInput, create_prescription  # noqa: E402
from app.prescribing import outbox as hooks  # noqa: E402 - the translator the save calls
from tests import factories  # noqa: E402
from sync_support import migrated_app, store_url  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--saves", type=int, default=1000, help="saves with the outbox (and as many without)")
    parser.add_argument("--block", type=int, default=50)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="sync-overhead-"))
    url, drop = store_url(args.database_url, directory)
    try:
        app = migrated_app(url)
        with app.app_context():
            factories.bind_app(app)
            unit = factories.unit(payer_areas=("inkontinens",))
            factories.user("karin", areas=("inkontinens",), units=(unit,))
            article = factories.article(number="310001")
            patients = [factories.patient(personnummer=f"19{60 + n // 100000:02d}0101{n % 100000:04d}"[:12]).id
                        for n in range(2 * args.saves + 10)]
            karin = db.session.scalar(select(User).where(User.username == "karin"))
            real = hooks.prescription_saved
            timings: dict[bool, list[float]] = {True: [], False: []}
            patient_iter = iter(patients)
            for _ in range(10):  # warm-up: statement caches, connection
                _save(karin, unit.id, article.id, next(patient_iter))
            for block in range(2 * args.saves // args.block):
                with_outbox = block % 2 == 0
                hooks.prescription_saved = real if with_outbox else (lambda *a, **k: None)
                for _ in range(args.block):
                    started = time.perf_counter()
                    _save(karin, unit.id, article.id, next(patient_iter))
                    timings[with_outbox].append((time.perf_counter() - started) * 1000)
            hooks.prescription_saved = real
            db.engine.dispose()
        with_ms, without_ms = statistics.median(timings[True]), statistics.median(timings[False])
        print(f"store: {'PostgreSQL' if args.database_url else 'SQLite'}; {len(timings[True])} saves each way; "
              f"{os.cpu_count()} CPUs")
        print(f"prescription save with its outbox item:    median {with_ms:.2f} ms, "
              f"p95 {statistics.quantiles(timings[True], n=20)[18]:.2f} ms")
        print(f"prescription save without (hook a no-op):  median {without_ms:.2f} ms, "
              f"p95 {statistics.quantiles(timings[False], n=20)[18]:.2f} ms")
        overhead = with_ms - without_ms
        print(f"outbox overhead per save: {overhead:.2f} ms  {'PASS' if overhead <= 2 else 'FAIL'} (≤ 2 ms)")
    finally:
        drop()


def _save(karin: User, unit_id: int, article_id: int, patient_id: int) -> None:
    create_prescription(karin, PrescriptionInput(patient_id, "inkontinens", unit_id, (
        RowInput(article_id=article_id, withdrawals=4, packages_per_withdrawal=2),)))


if __name__ == "__main__":
    main()

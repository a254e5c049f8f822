"""Benchmark: `run_disbursement` for N active subsidies (default 50,000) on SQLite and PostgreSQL.

    PYTHONPATH=. .venv/bin/python bench/housing_disbursement.py [--n 50000] [--db sqlite postgres]

For each database: a fresh, migrated housing database with N approved subsidies; then the first run
(pays everyone, writes N payment rows and N outbox events), a re-run of the same period (pays nobody),
and a same-run baseline: the obvious per-row ORM version (`session.add` per payment, `outbox.add` per
event, one commit) on a sample, scaled to N. Prints a table; peak RSS shows memory stays bounded.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.orm import Session

from services.housing import disbursement
from services.housing.models import Disbursement, PolicyVersion, SubsidyApplication
from shared.platform.clock import process_clock
from shared.platform.contracts import load_all
from shared.platform.db import make_engine
from shared.platform.migrations import upgrade
from shared.platform.models import OutboxMessage
from shared.platform.outbox import OutboxWriter

PERIOD = "2025-06"
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SEED_BATCH = 1000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_database(kind: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp(prefix='bench-housing-')}/housing.db"
    name = f"bench_housing_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str) -> None:
    if url.startswith("sqlite"):
        return
    name = url.rsplit("/", 1)[1]
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def seed(session: Session, count: int) -> None:
    policy_id = session.scalar(select(func.min(PolicyVersion.id)).where(PolicyVersion.programme == "rent_subsidy"))
    now = datetime.now(UTC)
    for start in range(0, count, SEED_BATCH):
        rows = [
            {
                "id": str(uuid.uuid4()),
                "resident_id": f"r_{number:032x}",
                "id_number_encrypted": "x" * 60,
                "id_number_masked": "330282********1234",
                "name": "测试",
                "phone_encrypted": "x" * 60,
                "phone_index": f"{number:064x}",
                "phone_masked": "138****5678",
                "town": "观海卫镇",
                "submitted_by": "bench",
                "submitted_at": now,
                "reasons": "[]",
                "category": "talent",
                "household_size": 3,
                "monthly_rent_fen": 180000,
                "has_residence_permit": True,
                "owns_home_in_cixi": False,
                "status": "approved",
                "eligibility_policy_id": policy_id,
                "monthly_subsidy_fen": 63000,
                "policy_id": policy_id,
                "policy_ref": "bench",
                "start_period": "2025-01",
                "end_period": "2025-12",
                "version": 1,
            }
            for number in range(start, min(start + SEED_BATCH, count))
        ]
        session.execute(insert(SubsidyApplication.__table__).values(rows))
        session.commit()
    # a live table has planner statistics; a table filled a second ago has none until autovacuum runs
    session.execute(text("ANALYZE"))
    session.commit()


def timed_run(session: Session) -> tuple[float, disbursement.DisbursementResult]:
    started = time.perf_counter()
    result = disbursement.run(session, OutboxWriter(session, "housing", None, []), process_clock(), PERIOD)
    return time.perf_counter() - started, result


def naive_baseline(session: Session, sample: int, period: str) -> float:
    """The per-row ORM version on `sample` subsidies; seconds for the sample."""
    started = time.perf_counter()
    outbox = OutboxWriter(session, "housing", None, [])
    rows = session.scalars(
        select(SubsidyApplication).where(SubsidyApplication.status == "approved").order_by(SubsidyApplication.id)
    ).yield_per(1000)
    now = datetime.now(UTC)
    for count, application in enumerate(rows):
        if count >= sample:
            break
        session.add(
            Disbursement(
                id=str(uuid.uuid4()),
                application_id=application.id,
                resident_id=application.resident_id,
                period=period,
                amount_fen=application.monthly_subsidy_fen,
                disbursed_at=now,
            )
        )
        outbox.add(
            "subsidy_disbursed",
            {
                "application_id": application.id,
                "resident_id": application.resident_id,
                "town": application.town,
                "category": application.category,
                "disbursement_id": str(uuid.uuid4()),
                "period": period,
                "amount_fen": application.monthly_subsidy_fen,
                "disbursed_at": now.isoformat(),
            },
        )
    session.commit()
    return time.perf_counter() - started


def bench(kind: str, count: int, sample: int) -> list[tuple]:
    url = fresh_database(kind)
    try:
        upgrade("housing", url)
        engine = make_engine(url)
        with Session(engine) as session:
            seed(session, count)
            rss_before = peak_rss_mb()
            first_seconds, first = timed_run(session)
            rss_after = peak_rss_mb()
            events = session.scalar(select(func.count()).select_from(OutboxMessage))
            rerun_seconds, rerun = timed_run(session)
            baseline_seconds = naive_baseline(session, sample, "2025-07")
        engine.dispose()
    finally:
        drop_database(url)
    assert first.paid == count and events == count and rerun.paid == 0 and rerun.already_paid == count
    scaled = baseline_seconds * count / sample
    return [
        (
            kind,
            "run_disbursement (first run)",
            count,
            first.paid,
            events,
            first_seconds,
            f"{rss_before:.0f}→{rss_after:.0f}",
        ),
        (kind, "run_disbursement (re-run)", count, rerun.paid, 0, rerun_seconds, ""),
        (kind, f"baseline: per-row ORM, {sample} scaled", count, count, count, scaled, ""),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--sample", type=int, default=5_000, help="subsidies the per-row baseline pays")
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    args = parser.parse_args(argv)
    load_all()
    results = []
    for kind in args.db:
        results.extend(bench(kind, args.n, min(args.sample, args.n)))
    header = ("db", "what", "subsidies", "paid", "events", "seconds", "peak RSS MB")
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for db, what, subsidies, paid, events, seconds, rss in results:
        print(f"{db} | {what} | {subsidies:,} | {paid:,} | {events:,} | {seconds:.2f} | {rss}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

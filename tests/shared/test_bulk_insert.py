"""`shared.platform.db.bulk_insert` round-trips every column type it maps, including NULLs, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, String, Table, Text, select
from sqlalchemy.orm import Session

from shared.platform.db import bulk_insert, make_engine

metadata = MetaData()
sample = Table(
    "bulk_sample",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("body", Text),
    Column("amount", Integer, nullable=True),
    Column("flag", Boolean, nullable=True),
    Column("at", DateTime(timezone=True), nullable=True),
)


def test_bulk_insert_round_trips(db_url):
    engine = make_engine(db_url)
    metadata.create_all(engine)
    start = datetime(2025, 6, 1, 8, 30, tzinfo=UTC)
    rows = [
        {
            "id": f"row-{n:04d}",
            "body": '{"text": "慈溪 \'quoted\' , {braces}"}' if n % 2 else None,
            "amount": n * 63000 if n % 3 else None,
            "flag": [True, False, None][n % 3],
            "at": start + timedelta(microseconds=n) if n % 5 else None,
        }
        for n in range(2500)
    ]
    with Session(engine) as session:
        bulk_insert(session, sample, rows, page=1000)
        session.commit()
        stored = [dict(row._mapping) for row in session.execute(select(sample).order_by(sample.c.id))]
    engine.dispose()
    for row in stored:
        if row["at"] is not None and row["at"].tzinfo is None:  # SQLite hands back naive UTC
            row["at"] = row["at"].replace(tzinfo=UTC)
    assert stored == rows

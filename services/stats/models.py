"""stats's tables. Only this service reads or writes them.

* `stat_archive`: every envelope stats consumed, exactly as validated; append-only (a database trigger
  refuses UPDATE and DELETE, and the ORM refuses them before they reach the database).
* `stat_totals`: the live figures, one row per (year, town, category, metric) holding a sum or count.
* `stat_members`: the members behind distinct counts (households by `resident_id`, projects by
  `project_id`), one row per (year, town, category, metric, member).

The live tables are what `fold.fold(archive)` computes; `rebuild()` checks that they agree.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.platform.jobs import JobColumns
from shared.platform.models import utcnow

# SQLite autoincrements only an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit sequence
SEQUENCE_TYPE = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class ArchiveIsAppendOnly(RuntimeError):
    """Raised when code tries to change or remove an archived envelope."""


class ArchivedEvent(Base):
    __tablename__ = "stat_archive"

    seq: Mapped[int] = mapped_column(SEQUENCE_TYPE, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    source: Mapped[str] = mapped_column(String(32))
    event_type: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    archived_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    body: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_stat_archive_kind", "source", "event_type"),)


@event.listens_for(ArchivedEvent, "before_update")
@event.listens_for(ArchivedEvent, "before_delete")
def _refuse_change(_mapper, _connection, target: ArchivedEvent) -> None:
    raise ArchiveIsAppendOnly(f"stat_archive is append-only (event {target.event_id})")


class FigureKey:
    """The key every figure is filed under; "" marks a town or category the event did not carry."""

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    town: Mapped[str] = mapped_column(String(50), primary_key=True)
    category: Mapped[str] = mapped_column(String(50), primary_key=True)
    metric: Mapped[str] = mapped_column(String(100), primary_key=True)


class FigureTotal(FigureKey, Base):
    __tablename__ = "stat_totals"

    value: Mapped[int] = mapped_column(BigInteger, default=0)


class FigureMember(FigureKey, Base):
    __tablename__ = "stat_members"

    member: Mapped[str] = mapped_column(String(100), primary_key=True)

    __table_args__ = (Index("ix_stat_members_metric_year", "metric", "year"),)


class FigureLatest(FigureKey, Base):
    """A snapshot figure (an account's followers as of a day): the highest-ranked one under each key."""

    __tablename__ = "stat_latest"

    rank: Mapped[str] = mapped_column(String(120))
    value: Mapped[int] = mapped_column(BigInteger)


class Job(JobColumns, Base):
    """A batch run as a job (shared/platform/jobs.py): the retention purge."""

    __tablename__ = "jobs"

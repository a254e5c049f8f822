"""Alembic, per service: each service has `services/<name>/migrations/` with its own history.

    python -m shared.platform.migrations                 # upgrade every service to head
    python -m shared.platform.migrations housing notify  # just these

The database URL comes from the service's config file, so this migrates what the service will use.
"""

from __future__ import annotations

import sys
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config as AlembicConfig

from shared.platform.config import REPO_ROOT, SERVICES, load_service_config
from shared.platform.db import make_engine, normalise_url
from shared.platform.models import LEDGER_AGE_INDEX


def alembic_config(service: str, url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(REPO_ROOT / "services" / service / "migrations"))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    config.attributes["service"] = service
    return config


def ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)


def upgrade(service: str, url: str | None = None, revision: str = "head") -> None:
    url = url or load_service_config(service)["DATABASE_URL"]
    ensure_sqlite_dir(url)
    command.upgrade(alembic_config(service, url), revision)


def run_migrations(target_metadata) -> None:
    """Body of every service's `migrations/env.py` (online mode only: we always have a database)."""
    url = context.config.get_main_option("sqlalchemy.url")
    engine = make_engine(url, poolclass=sa.pool.NullPool) if url.startswith("sqlite") else make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def create_platform_tables(op) -> None:
    """The outbox and processed-event tables, created by each service's first migration."""
    op.create_table(
        "outbox",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("exchange", sa.String(100), nullable=False),
        sa.Column("routing_key", sa.String(100), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.String(500), nullable=True),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "created_at"])
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(150), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )


def create_ledger_age_index(op) -> None:
    """The processed-event ledger by age, which every retention purge batch reads (a later migration in each
    service: the platform tables of its first one predate it)."""
    op.create_index(LEDGER_AGE_INDEX, "processed_events", ["processed_at"])


def drop_ledger_age_index(op) -> None:
    op.drop_index(LEDGER_AGE_INDEX, table_name="processed_events")


def create_audit_table(op) -> None:
    """The append-only case audit trail, with its database-level guard."""
    from shared.platform.audit import install_append_only_guard

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("case_type", sa.String(50), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("from_state", sa.String(50), nullable=True),
        sa.Column("to_state", sa.String(50), nullable=True),
        sa.Column("changes", sa.Text, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("actor_roles", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("policy_ref", sa.String(200), nullable=True),
        sa.Column("correlation_id", sa.String(200), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_audit_case", "audit_log", ["case_type", "case_id", "id"])
    install_append_only_guard(op.get_bind())


def drop_audit_table(op) -> None:
    op.drop_table("audit_log")


def create_policy_table(op, table: str, *extra: sa.Column) -> sa.Table:
    """A service's policy table in the shared store's shape (`shared.platform.policy_store.PolicyColumns`)."""
    return op.create_table(
        table,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("policy_ref", sa.String(300), nullable=False),
        *extra,
        sa.UniqueConstraint("name", "effective_from", name=f"uq_{table}_name_from"),
    )


def drop_platform_tables(op) -> None:
    op.drop_table("processed_events")
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.drop_table("outbox")


def main(argv: list[str]) -> int:
    services = argv or list(SERVICES)
    for service in services:
        if service not in SERVICES:
            print(f"unknown service: {service}", file=sys.stderr)
            return 2
        upgrade(service)
        print(f"migrated {service}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""broadcast_recording_job: a broadcast is recorded by a job (shared/platform/jobs.py), not under a lease of its
own; a broadcast still recording at the upgrade gets its job, resuming from its cursor (issue #18 item 6)

Revision ID: notify_0020
Revises: notify_0019
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from shared.platform.ids import new_id

revision = "notify_0020"
down_revision = "notify_0019"
branch_labels = None
depends_on = None

JOB = "broadcast_recording"


def upgrade():
    connection = op.get_bind()
    jobs = sa.table(
        "jobs",
        *(sa.column(name) for name in ("id", "kind", "key", "params", "status", "started_by", "cursor", "total")),
        *(sa.column(name) for name in ("done", "chunks", "result", "failures", "version", "created_at", "updated_at")),
    )
    now = datetime.now(UTC)
    recording = connection.execute(
        sa.text("SELECT id, created_by, cursor, expected, recorded FROM broadcasts WHERE status = 'recording'")
    ).all()
    for broadcast_id, created_by, cursor, expected, recorded in recording:
        connection.execute(
            jobs.insert().values(
                id=f"notify.{new_id()}", kind=JOB, key=broadcast_id,
                params=json.dumps({"broadcast_id": broadcast_id}), status="queued", started_by=created_by,
                cursor=cursor, total=expected, done=recorded, chunks=0, result="{}", failures=0, version=1,
                created_at=now, updated_at=now,
            )
        )  # fmt: skip
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")


def downgrade():
    with op.batch_alter_table("broadcasts") as batch:
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("lease_owner", sa.String(36), nullable=True))
    op.get_bind().execute(sa.text("DELETE FROM jobs WHERE kind = :kind"), {"kind": JOB})

"""SMS quota and cost: billed segments and messages per provider per Asia/Shanghai day.

A segment is what the providers bill (70 characters, 67 a part of a longer message, signature included:
`templating.segment_count`); it is counted when the provider takes the message, in the same transaction.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from services.notify import metrics, statuses
from services.notify.models import SmsUsage
from shared.platform.clock import local_date

DIALECT_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def record(session, accepted: list[tuple], now: datetime) -> None:
    """`accepted`: (row with channel and segments, provider name) for each message a provider took."""
    messages: Counter = Counter()
    segments: Counter = Counter()
    for row, provider in accepted:
        if row.channel == statuses.SMS:
            messages[provider] += 1
            segments[provider] += row.segments or 0
    if not messages:
        return
    day = local_date(now)
    insert = DIALECT_INSERT[session.get_bind().dialect.name]
    for provider, count in messages.items():
        statement = insert(SmsUsage).values(day=day, provider=provider, messages=count, segments=segments[provider])
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[SmsUsage.day, SmsUsage.provider],
                set_={
                    "messages": SmsUsage.messages + statement.excluded.messages,
                    "segments": SmsUsage.segments + statement.excluded.segments,
                },
            )
        )
        metrics.billed(provider, segments[provider])


def of_day(session, day: date) -> dict[str, dict[str, int]]:
    """{provider: {"messages", "segments"}} for one Asia/Shanghai day."""
    rows = session.execute(select(SmsUsage).where(SmsUsage.day == day)).scalars()
    return {row.provider: {"messages": row.messages, "segments": row.segments} for row in rows}

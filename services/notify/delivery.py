"""The delivery engine: claims due notifications, hands them to providers outside any transaction,
records what the providers said, applies receipts, retries, times out and falls back.

Every step is: short DB transaction → (HTTP with no transaction open) → short DB transaction. A crash
between the two leaves the rows leased; the lease runs out and the next cycle sends them again with the
same `out_id`, which the gateway de-duplicates.

The `out_id` is `<notification id>.<submission>`. The submission number moves on only when the last
submission is known to be finished at the provider (it refused it, or a failure receipt came back); after
a technical failure (timeout, dropped connection: the provider may have taken it and only its answer was
lost) the retry goes under the same `out_id`, so the provider answers it from its record instead of
sending a second SMS. `attempts` counts tries, for the retry limit, whichever way they went.

The Chinese vendors do not de-duplicate on it, so a lost answer also keeps what names the call
(`held_call`, `held_at`); the provider asks the vendor's records before sending again and records a message
it finds as sent (`TemplateCodeProvider.look_up`). When the records cannot tell (the query failed) it stays
held and is asked again at the next retry: never a second SMS for an unknown outcome.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import eventlet
from eventlet.greenpool import GreenPool
from opentelemetry.trace import SpanKind
from sqlalchemy import bindparam, delete, func, insert, or_, select, update

from services.notify import metrics, notices, rules, statuses, usage
from services.notify.models import Contact, EarlyReceipt, Notification, OptOut, ProviderTemplate, Template
from services.notify.providers import Outgoing, Provider, Submission
from services.notify.send_rate import SharedTokenBucket
from shared.platform import tracing
from shared.platform.crashpoints import crash_point
from shared.platform.ids import new_id
from shared.platform.personal_data_provider import PiiTools

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    signature: str = "【慈溪新市民】"
    retry_delays: tuple[float, ...] = (60.0, 300.0, 1800.0)
    receipt_timeout: timedelta = timedelta(hours=72)
    daily_cap: int = 50
    quiet: tuple = (rules.parse_hhmm("20:00"), rules.parse_hhmm("08:00"))
    claim_size: int = 1000
    lease: timedelta = timedelta(seconds=60)
    send_concurrency: int = 4
    broadcast_approval_above: int = 1000  # residents; a larger broadcast needs a second admin

    @classmethod
    def from_config(cls, config: dict) -> Settings:
        quiet = str(config.get("QUIET_HOURS") or "20:00-08:00").split("-")
        return cls(
            signature=str(config.get("SMS_SIGNATURE") or cls.signature),
            retry_delays=tuple(float(s) for s in config.get("DELIVERY_RETRY_DELAYS_SECONDS", cls.retry_delays)),
            receipt_timeout=timedelta(seconds=float(config.get("RECEIPT_TIMEOUT_SECONDS", 72 * 3600))),
            daily_cap=int(config.get("DAILY_CAP_PER_NUMBER", cls.daily_cap)),
            quiet=(rules.parse_hhmm(quiet[0]), rules.parse_hhmm(quiet[1])),
            claim_size=int(config.get("DISPATCH_CLAIM_SIZE", cls.claim_size)),
            lease=timedelta(seconds=float(config.get("DISPATCH_LEASE_SECONDS", 60))),
            send_concurrency=int(config.get("SEND_CONCURRENCY", cls.send_concurrency)),
            broadcast_approval_above=int(config.get("BROADCAST_APPROVAL_ABOVE", cls.broadcast_approval_above)),
        )


# what the dispatcher and the receipt path read: plain rows, not ORM objects (bulk speed)
DISPATCH_COLUMNS = (
    Notification.id,
    Notification.resident_id,
    Notification.channel,
    Notification.kind,
    Notification.template_id,
    Notification.template_version,
    Notification.personalisation,
    Notification.body,
    Notification.segments,
    Notification.recipient_encrypted,
    Notification.phone_index,
    Notification.attempts,
    Notification.submission,
    Notification.broadcast_id,
    Notification.source_event_id,
    Notification.status,
    Notification.provider,
    Notification.held_by,
    Notification.held_call,
    Notification.held_at,
)


def event_data(n) -> dict:
    return {
        "notification_id": n.id,
        "resident_id": n.resident_id,
        "template_id": n.template_id,
        "template_version": n.template_version,
        "channel": n.channel,
        "kind": n.kind,
        "segments": n.segments,
        "source_event_id": n.source_event_id,
    }


class Delivery:
    def __init__(
        self,
        Session,
        providers: dict[str, Provider],
        buckets: dict[str, SharedTokenBucket],
        pii: PiiTools,
        settings: Settings,
        clock: Callable[[], datetime],
        events,
    ):
        self.Session = Session
        self.providers = providers
        self.buckets = buckets
        self.pii = pii
        self.settings = settings
        self.clock = clock
        self.events = events  # the Outbox: .writer_for(session), then .committed(writer) after the commit

    # --- events ------------------------------------------------------------------------------------

    def _emit(self, outbox, event_type: str, n: Notification, **extra) -> None:
        if n.broadcast_id is None and outbox is not None:  # broadcasts report progress via get_broadcast
            outbox.add(event_type, {**event_data(n), **extra})

    # --- outcome of an attempt ---------------------------------------------------------------------

    def _fail(
        self, session, outbox, n: Notification, status: str, reason: str | None, now: datetime, *, finished: bool,
        held: Submission | None = None,
    ) -> None:  # fmt: skip
        """`finished`: the provider is known to be done with this submission, so a retry is a new one.
        `held`: the unfinished answer naming the call whose outcome is unknown."""
        if finished:
            n.submission += 1
        # unfinished: the provider may have taken it, so the retry of this out_id must go back to it alone
        n.held_by = None if finished else n.provider
        n.held_call = None if finished or held is None else held.held_call
        n.held_at = None if finished or held is None else held.held_at
        n.status = status
        n.failure_reason = (reason or status)[:200]
        n.updated_at = now
        n.lease_owner = n.lease_until = None
        metrics.reached(n.channel, n.provider, status)
        delay = rules.retry_delay(n.attempts, self.settings.retry_delays)
        if status != statuses.PERMANENT_FAILURE and delay is not None:
            n.next_attempt_at = now + timedelta(seconds=delay)
            return
        n.next_attempt_at = None
        n.completed_at = now
        fallback = status == statuses.PERMANENT_FAILURE and self._fall_back(session, n, now) is not None
        self._emit(
            outbox,
            "notification_failed",
            n,
            status=status,
            reason=n.failure_reason,
            fallback=fallback,
            failed_at=now.isoformat(),
        )

    def _fall_back(self, session, n: Notification, now: datetime) -> Notification | None:
        """An SMS that failed for good goes by WeChat instead, if the resident follows the account."""
        if n.channel != statuses.SMS or n.fallback_of is not None or n.kind != statuses.TRANSACTIONAL:
            return None
        contact = session.get(Contact, n.resident_id)
        if contact is None or not contact.wechat_openid:
            return None
        template = session.get(Template, (n.template_id, n.template_version))
        return notices.record(
            session,
            self.pii,
            dedupe_key=f"fallback:{n.id}",
            resident_id=n.resident_id,
            template=template,
            personalisation=n.personalisation,
            signature=self.settings.signature,
            now=now,
            quiet=self.settings.quiet,
            source_event_id=n.source_event_id,
            fallback_of=n.id,
            channel=statuses.WECHAT,
        )

    def _delivered(self, outbox, n: Notification, now: datetime) -> None:
        n.status = statuses.DELIVERED
        n.completed_at = n.updated_at = now
        n.next_attempt_at = n.lease_owner = n.lease_until = None
        self._emit(outbox, "notification_delivered", n, delivered_at=now.isoformat())

    def _record_results(self, session, outbox, rows: dict, results: dict[str, list[Submission]], now) -> None:
        """Write what the providers answered: accepted ones in bulk, failures one by one (they are few)."""
        accepted, throttled, failed = [], [], []
        for channel, submissions in results.items():
            for result in submissions:
                row = rows.get(result.out_id.rsplit(".", 1)[0])
                if row is None:
                    continue
                provider = result.provider or self.providers[channel].name
                if result.retry_after is not None:  # throttled: not an attempt
                    throttled.append({"b_id": row.id, "b_next": now + timedelta(seconds=result.retry_after)})
                elif result.accepted:
                    accepted.append((row, result, provider))
                else:
                    failed.append((row, result, provider))
        table = Notification.__table__
        by_id = table.c.id == bindparam("b_id")
        released = {"lease_owner": None, "lease_until": None, "updated_at": now}
        if throttled:
            session.execute(
                table.update().where(by_id).values(next_attempt_at=bindparam("b_next"), **released), throttled
            )
        if accepted:
            session.execute(
                table.update()
                .where(by_id)
                .values(
                    status=bindparam("b_status"),
                    attempts=table.c.attempts + 1,
                    provider=bindparam("b_provider"),
                    provider_ref=bindparam("b_ref"),
                    sent_at=now,
                    completed_at=bindparam("b_completed"),
                    failure_reason=None,
                    hold_reason=None,
                    held_by=None,
                    held_call=None,
                    held_at=None,
                    next_attempt_at=None,
                    **released,
                ),
                [
                    {
                        "b_id": row.id,
                        "b_status": statuses.DELIVERED if result.delivered else statuses.SENDING,
                        "b_provider": provider,
                        "b_ref": result.provider_ref,
                        "b_completed": now if result.delivered else None,
                    }
                    for row, result, provider in accepted
                ],
            )
            for row, result, provider in accepted:
                metrics.reached(row.channel, provider, statuses.SENDING)
                self._emit(outbox, "notification_sent", row, sent_at=now.isoformat())
                if result.delivered:
                    metrics.reached(row.channel, provider, statuses.DELIVERED)
                    self._emit(outbox, "notification_delivered", row, delivered_at=now.isoformat())
            usage.record(session, [(row, provider) for row, _, provider in accepted], now)
            # found in the vendor's records after a lost answer, with its receipt there: apply it now
            found: dict[str, list[tuple]] = {}
            for row, result, _ in accepted:
                if result.receipt:
                    item = (f"{row.id}.{row.submission}", result.provider_ref, result.receipt)
                    found.setdefault(row.channel, []).append(item)
            for channel, items in found.items():
                self._apply_parsed(session, outbox, channel, items)
        for row, result, provider in failed:
            n = session.get(Notification, row.id)
            n.attempts += 1
            n.provider = provider
            status = result.status or statuses.TECHNICAL_FAILURE
            # a provider that answered with a refusal is done with it; a technical failure may hide an acceptance
            finished = result.finished if result.finished is not None else status != statuses.TECHNICAL_FAILURE
            self._fail(session, outbox, n, status, result.reason, now, finished=finished, held=result)

    # --- dispatch ----------------------------------------------------------------------------------

    def claim(self, session, now: datetime) -> str | None:
        token = new_id()
        free = or_(Notification.lease_until.is_(None), Notification.lease_until < now)
        due = (
            select(Notification.id)
            .where(Notification.next_attempt_at <= now, Notification.recipient_encrypted.is_not(None), free)
            .order_by(Notification.next_attempt_at)
            .limit(self.settings.claim_size)
        )
        ids = session.scalars(due).all()
        if not ids:
            session.rollback()
            return None
        session.execute(
            update(Notification)
            .where(Notification.id.in_(ids), free)
            .values(lease_owner=token, lease_until=now + self.settings.lease)
        )
        session.commit()
        return token

    def dispatch(self) -> int:
        """One claim's worth: check, send, record. Returns how many notifications were handled."""
        now = self.clock()
        with self.Session() as session:
            token = self.claim(session, now)
            if token is None:
                return 0
            rows = session.execute(select(*DISPATCH_COLUMNS).where(Notification.lease_owner == token)).all()
            ready = self._screen(session, rows, now)
            outgoing = self._outgoing(session, ready)
            session.commit()  # holds and cancellations; nothing stays open during the HTTP calls
        crash_point("notify", "delivery.before_send")  # claimed and leased, not yet handed to a provider
        sources = {f"{row.id}.{row.submission}": row.source_event_id for row in ready} if tracing.enabled() else None
        results = self._send(outgoing, sources)
        now = self.clock()
        with self.Session() as session:
            outbox = self.events.writer_for(session)
            self._record_results(session, outbox, {row.id: row for row in ready}, results, now)
            session.commit()
            self.events.committed(outbox)
        self.apply_early_receipts()  # a receipt quicker than our commit
        return len(rows)

    def _screen(self, session, rows: list, now: datetime) -> list:
        """Quiet hours, opt-outs and the per-number daily cap; returns the rows that may go now."""
        promo_indexes = {n.phone_index for n in rows if n.kind == statuses.PROMOTIONAL and n.phone_index}
        opted_out = set()
        if promo_indexes:
            opted_out = set(session.scalars(select(OptOut.phone_index).where(OptOut.phone_index.in_(promo_indexes))))
        sent_today = self._sent_today(session, rows, now)
        release = rules.quiet_hours_release(now, *self.settings.quiet)
        ready, holds = [], []
        for n in rows:
            if n.kind == statuses.PROMOTIONAL and n.phone_index in opted_out:
                cancelled = session.get(Notification, n.id)
                self._fail(
                    session,
                    None,
                    cancelled,
                    statuses.PERMANENT_FAILURE,
                    "opted out before sending",
                    now,
                    finished=False,
                )
                continue
            if n.kind == statuses.PROMOTIONAL and release is not None:
                holds.append({"b_id": n.id, "b_until": release, "b_reason": statuses.QUIET_HOURS})
                continue
            key = (n.phone_index, n.template_id)
            if n.phone_index and sent_today[key] >= self.settings.daily_cap:
                holds.append({"b_id": n.id, "b_until": rules.next_shanghai_day(now), "b_reason": statuses.DAILY_CAP})
                continue
            sent_today[key] += 1
            ready.append(n)
        if holds:
            table = Notification.__table__
            session.execute(
                table.update()
                .where(table.c.id == bindparam("b_id"))
                .values(
                    next_attempt_at=bindparam("b_until"),
                    hold_reason=bindparam("b_reason"),
                    lease_owner=None,
                    lease_until=None,
                    updated_at=now,
                ),
                holds,
            )
        return ready

    def _sent_today(self, session, rows: list, now: datetime) -> Counter:
        counts: Counter = Counter()
        indexes = {n.phone_index for n in rows if n.phone_index}
        if not indexes:
            return counts
        query = (
            select(Notification.phone_index, Notification.template_id, func.count())
            .where(Notification.phone_index.in_(indexes), Notification.sent_at >= rules.shanghai_day_start(now))
            .group_by(Notification.phone_index, Notification.template_id)
        )
        for phone_index, template_id, count in session.execute(query):
            counts[(phone_index, template_id)] = count
        return counts

    def _outgoing(self, session, ready: list) -> dict[str, list[Outgoing]]:
        wechat_ids: dict[tuple[str, int], str | None] = {}
        codes = self._provider_templates(session, {(n.template_id, n.template_version) for n in ready})
        by_channel: dict[str, list[Outgoing]] = {}
        for n in ready:
            key = (n.template_id, n.template_version)
            wechat_template = None
            if n.channel == statuses.WECHAT:
                if key not in wechat_ids:
                    template = session.get(Template, key)
                    wechat_ids[key] = template.wechat_template_id if template else None
                wechat_template = wechat_ids[key]
            by_channel.setdefault(n.channel, []).append(
                Outgoing(
                    out_id=f"{n.id}.{n.submission}",
                    recipient=self.pii.decrypt(n.recipient_encrypted),
                    body=n.body,
                    template_id=n.template_id,
                    personalisation=n.personalisation or {},
                    wechat_template_id=wechat_template,
                    provider_templates=codes.get(key, {}),
                    segments=n.segments,
                    held_by=n.held_by,
                    held_call=n.held_call,
                    held_at=n.held_at,
                )
            )
        return by_channel

    @staticmethod
    def _provider_templates(session, keys: set[tuple[str, int]]) -> dict[tuple[str, int], dict]:
        """{(template_id, version): {provider: spec}} for the template versions of a claim."""
        found: dict[tuple[str, int], dict] = {}
        if not keys:
            return found
        rows = session.scalars(
            select(ProviderTemplate).where(ProviderTemplate.template_id.in_({template_id for template_id, _ in keys}))
        )
        for row in rows:
            if (row.template_id, row.version) in keys:
                found.setdefault((row.template_id, row.version), {})[row.provider] = row.spec()
        return found

    def _send(self, outgoing: dict[str, list[Outgoing]], sources: dict | None = None) -> dict[str, list[Submission]]:
        """Hand each channel's messages to its provider; `sources` ({out_id: source event id}) puts each
        message's `<channel> send` span in the trace of the event it answers (shared/platform/tracing.py)."""
        results: dict[str, list[Submission]] = {}
        sources = sources or {}
        for channel, messages in outgoing.items():
            provider = self.providers[channel]
            bucket = self.buckets.get(channel)
            batches = [messages[i : i + provider.batch_size] for i in range(0, len(messages), provider.batch_size)]

            def send_batch(batch, provider=provider, bucket=bucket, channel=channel):
                if bucket is not None:
                    bucket.take(len(batch), sleep=eventlet.sleep)
                parents = (tracing.consumed(sources.get(m.out_id)) for m in batch)
                attributes = ({"notify.channel": channel, "notify.provider": provider.name,
                               "notify.out_id": m.out_id} for m in batch)  # fmt: skip
                try:
                    with tracing.spans(f"{channel} send", parents, SpanKind.CLIENT, attributes) as spans:
                        submissions = provider.send(batch)
                        for span, submission in zip(spans, submissions, strict=False):
                            span.set_attribute("notify.status", submission.status or "accepted")
                        return submissions
                except Exception as exc:  # a provider bug must not leave the rows leased forever
                    log.exception("provider %s failed", provider.name)
                    return [
                        Submission(m.out_id, status=statuses.TECHNICAL_FAILURE, reason=type(exc).__name__)
                        for m in batch
                    ]

            pool = GreenPool(max(1, self.settings.send_concurrency))
            results[channel] = [result for chunk in pool.imap(send_batch, batches) for result in chunk]
        return results

    # --- receipts and timeouts ---------------------------------------------------------------------

    def apply_receipts(self, session, outbox, channel: str, receipts: list[dict], source: str | None = None) -> Counter:
        """Receipts pushed by the provider, named by our out_id ("<notification id>.<submission>") or its msgid.
        One that arrives before its submission is recorded is kept and applied when it is. `source` names the
        SMS provider whose push format this is (default: the first configured)."""
        provider = self.providers[channel]
        parse = provider.parse_receipt
        if source is not None:
            parse = lambda item: provider.parse_receipt(item, source)  # noqa: E731
        parsed = [parse(item) for item in receipts if isinstance(item, dict)]
        outcome, unmatched = self._apply_parsed(session, outbox, channel, parsed)
        self._keep_early(session, channel, unmatched)
        outcome["kept"] = len(unmatched)
        return outcome

    def _keep_early(self, session, channel: str, unmatched: list[tuple]) -> None:
        """Receipts for submissions not recorded yet, kept in one statement: a vendor's receipts of a call of
        several often beat the recording of its answer, and kept one by one (a merge each) they were most of
        notify's CPU in a broadcast through Alibaba."""
        now = self.clock()
        rows: dict[str, dict] = {}
        for out_id, ref, code in unmatched:
            key = (f"{channel}:o:{out_id}" if out_id else f"{channel}:r:{ref}")[:120]
            rows[key] = {"key": key, "channel": channel, "out_id": out_id, "provider_ref": ref,
                         "code": code[:40], "received_at": now}  # fmt: skip
        if not rows:
            return
        kept = set(session.scalars(select(EarlyReceipt.key).where(EarlyReceipt.key.in_(list(rows)))))
        for key in kept:  # the same receipt pushed again: the latest one is kept, as before
            session.merge(EarlyReceipt(**rows.pop(key)))
        if rows:
            session.execute(insert(EarlyReceipt), list(rows.values()))

    def _apply_parsed(self, session, outbox, channel: str, parsed: list[tuple]) -> tuple[Counter, list[tuple]]:
        now = self.clock()
        provider = self.providers[channel]
        by_id: dict[str, tuple[int, tuple]] = {}
        by_ref: dict[str, tuple] = {}
        outcome: Counter = Counter()
        for out_id, ref, code in parsed:
            nid, _, submission = str(out_id or "").rpartition(".")
            if nid and submission.isdigit():
                if nid in by_id and by_id[nid][0] > int(submission):
                    outcome["stale"] += 1  # one batch may carry an older submission's receipt too
                    continue
                if nid in by_id:
                    outcome["stale"] += 1
                by_id[nid] = (int(submission), (out_id, ref, str(code)))
            elif ref:
                by_ref[str(ref)] = (None, str(ref), str(code))
        matched: list[tuple] = []
        columns = (*DISPATCH_COLUMNS, Notification.provider_ref, Notification.completed_at)
        if by_id:
            for row in session.execute(select(*columns).where(Notification.id.in_(list(by_id)))):
                submission, item = by_id[row.id]
                if row.submission > submission or row.completed_at is not None:  # an older one, or final
                    outcome["stale"] += 1
                    del by_id[row.id]
                elif row.status == statuses.SENDING and row.submission == submission:
                    matched.append((row, item[2]))
                    del by_id[row.id]
                # else its acceptance is not recorded yet: the answer is still on its way, or it was lost and
                # the retry (same out_id) will record it; keep the receipt till then
        if by_ref:
            query = select(*columns).where(
                Notification.provider_ref.in_(list(by_ref)), Notification.status == statuses.SENDING
            )
            for row in session.execute(query):
                matched.append((row, by_ref.pop(row.provider_ref)[2]))
        delivered = []
        for row, code in matched:
            status, reason = provider.receipt_status(code)
            if status == statuses.DELIVERED:
                delivered.append(row)
                continue
            # locked and re-read: the same receipt pushed twice at once must fail the message once
            n = session.get(Notification, row.id, with_for_update=True, populate_existing=True)
            if n.status != statuses.SENDING:
                outcome["stale"] += 1
                continue
            outcome[status] += 1
            self._fail(session, outbox, n, status, reason, now, finished=True)
        if delivered:
            table = Notification.__table__
            # only the rows this statement moved are announced: a receipt applied twice at once (a repeated
            # push, the sweep and a dispatcher) must not count one delivery twice
            moved = set(
                session.scalars(
                    table.update()
                    .where(table.c.id.in_([row.id for row in delivered]), table.c.status == statuses.SENDING)
                    .values(status=statuses.DELIVERED, completed_at=now, updated_at=now, next_attempt_at=None)
                    .returning(table.c.id)
                )
            )
            for row in delivered:
                if row.id in moved:
                    outcome[statuses.DELIVERED] += 1
                    metrics.reached(row.channel, row.provider, statuses.DELIVERED)
                    self._emit(outbox, "notification_delivered", row, delivered_at=now.isoformat())
                else:
                    outcome["stale"] += 1
        unmatched = [item for _, item in by_id.values()] + list(by_ref.values())
        return outcome, unmatched

    def apply_early_receipts(self, max_age: timedelta = timedelta(days=1)) -> int:
        """Apply kept receipts whose submission is now recorded; drop those too old to ever match."""
        now = self.clock()
        applied = 0
        with self.Session() as session:
            outbox = self.events.writer_for(session)
            early = session.scalars(select(EarlyReceipt).order_by(EarlyReceipt.received_at).limit(5000)).all()
            for channel in {row.channel for row in early}:
                rows = [row for row in early if row.channel == channel]
                parsed = [(row.out_id, row.provider_ref, row.code) for row in rows]
                outcome, unmatched = self._apply_parsed(session, outbox, channel, parsed)
                still = {(out_id, ref) for out_id, ref, _ in unmatched}
                done = [
                    row.key
                    for row in rows
                    if (row.out_id, row.provider_ref) not in still or row.received_at < _naive_ok(now - max_age, row)
                ]
                if done:  # by key: another applier may have removed some already
                    session.execute(delete(EarlyReceipt).where(EarlyReceipt.key.in_(done)))
                applied += sum(outcome[s] for s in (statuses.DELIVERED, *statuses.FAILURES))
            session.commit()
            self.events.committed(outbox)
        return applied

    def expire_receipts(self) -> int:
        """A message `sending` with no receipt within the timeout is a temporary failure, not resent:
        the provider may well have delivered it."""
        now = self.clock()
        with self.Session() as session:
            outbox = self.events.writer_for(session)
            stuck = session.scalars(
                select(Notification)
                .where(
                    Notification.status == statuses.SENDING,
                    Notification.sent_at < now - self.settings.receipt_timeout,
                )
                .limit(self.settings.claim_size)
            ).all()
            for n in stuck:
                metrics.reached(n.channel, n.provider, statuses.TEMPORARY_FAILURE)
                n.status = statuses.TEMPORARY_FAILURE
                n.failure_reason = "no delivery receipt in time"
                n.completed_at = n.updated_at = now
                n.next_attempt_at = None
                self._emit(
                    outbox,
                    "notification_failed",
                    n,
                    status=statuses.TEMPORARY_FAILURE,
                    reason=n.failure_reason,
                    fallback=False,
                    failed_at=now.isoformat(),
                )
            session.commit()
            self.events.committed(outbox)
        return len(stuck)


def _naive_ok(moment: datetime, row) -> datetime:
    """SQLite hands back naive UTC datetimes; compare like with like."""
    return moment.replace(tzinfo=None) if row.received_at.tzinfo is None else moment

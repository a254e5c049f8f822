"""Broadcasts to a segment. One larger than `approval_above` residents waits in AWAITING_APPROVAL until an
admin other than its author approves it (maker-checker on mass messaging; both steps are audited), or
rejects it. Content comes only from an approved template; a variable may not carry a signature bracket
(【】, which would pose as another sender), nor a link or a phone number the template is not approved for.

Then it is recorded by a job (shared/platform/jobs.py, kind `broadcast_recording`, keyed by the broadcast): a page
of recipients per chunk (`JOB_CHUNK_SIZE`, 2000), the broadcast's cursor on resident_id committed with each page,
so a restart or another replica resumes exactly where it stopped, never recording anyone twice; then it is sent
by the dispatcher like any other notification, under the same quiet hours, opt-outs and rate limits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, or_, select

from services.notify import metrics, rules, statuses
from services.notify.delivery import Settings
from services.notify.models import Broadcast, Contact, Job, Notification, OptOut, Template
from services.notify.provider_templates import PHONE, URL
from services.notify.schemas import iso
from services.notify.templating import render
from shared.cixi.towns import resolve_town
from shared.platform.db import move_status
from shared.platform.errors import Conflict, MakerCheckerViolation, ValidationError
from shared.platform.ids import new_id
from shared.platform.jobs import Chunk, ChunkContext, JobKind
from shared.platform.validation import echo, text_problem

AWAITING_APPROVAL = "awaiting_approval"
REJECTED = "rejected"
RECORDING = "recording"
SENDING = "sending"
COMPLETED = "completed"
SIGNATURE_BRACKETS = ("【", "】")
SEGMENT_KEYS = ("town", "category", "all")


def clean_segment(segment: dict | None) -> dict:
    """{"all": true} | {"town": "浒山街道"} | {"category": "new_graduate"} | {"town": .., "category": ..}"""
    segment = dict(segment or {})
    errors: dict[str, list[str]] = {}
    unknown = set(segment) - set(SEGMENT_KEYS)
    for key in sorted(unknown):
        errors[f"segment.{echo(key)}"] = ["unknown segment key; use town, category or all"]
    clean: dict = {}
    for key, limit in (("town", 20), ("category", 40)):
        if segment.get(key) and text_problem(segment[key], limit):
            errors[f"segment.{key}"] = [f"Must be plain text of at most {limit} characters."]
            segment.pop(key)
    if segment.get("town"):
        town = resolve_town(str(segment["town"]))
        if town is None:
            errors["segment.town"] = ["unknown town"]
        else:
            clean["town"] = town.name
    if segment.get("category"):
        clean["category"] = str(segment["category"])
    if not clean and segment.get("all") is not True and not {"segment.town", "segment.category"} & set(errors):
        errors["segment"] = ['name a town and/or category, or {"all": true}']
    if errors:
        raise ValidationError(errors)
    return clean


def audience(segment: dict):
    """Consenting, reachable, not opted-out contacts in the segment."""
    query = select(Contact.resident_id).where(
        Contact.promo_consent.is_(True),
        Contact.phone_encrypted.is_not(None),
        ~select(OptOut.phone_index).where(OptOut.phone_index == Contact.phone_index).exists(),
    )
    if "town" in segment:
        query = query.where(Contact.town == segment["town"])
    if "category" in segment:
        query = query.where(Contact.category == segment["category"])
    return query


def personalisation_errors(personalisation: dict, links_approved: bool) -> dict[str, list[str]]:
    """Every variable that would make the text speak as someone else or send residents elsewhere."""
    errors: dict[str, list[str]] = {}
    for name, value in sorted((personalisation or {}).items()):
        text = str(value)
        problems = []
        if any(bracket in text for bracket in SIGNATURE_BRACKETS):
            problems.append("must not contain 【】: the signature is always the platform's own")
        if not links_approved and (URL.search(text) or PHONE.search(text)):
            problems.append("must not contain a link or a phone number: the template is not approved for one")
        if problems:
            errors[f"personalisation.{echo(name)}"] = problems
    return errors


def create(
    session,
    template: Template,
    segment: dict,
    personalisation: dict,
    signature: str,
    by: str,
    now,
    approval_above: int,
    links_approved: bool = False,
):
    errors = {}
    if template.kind != statuses.PROMOTIONAL:
        errors["template_id"] = ["a broadcast uses a promotional template (consent, 回T退订)"]
    errors.update(personalisation_errors(personalisation, links_approved))
    try:
        segment = clean_segment(segment)
    except ValidationError as invalid:
        errors.update(invalid.errors)
    if errors:
        raise ValidationError(errors)
    rendered = render(template.body, personalisation or {}, signature)
    expected = session.scalar(select(func.count()).select_from(audience(segment).subquery())) or 0
    broadcast = Broadcast(
        id=new_id(),
        template_id=template.template_id,
        template_version=template.version,
        segment=segment,
        personalisation=dict(personalisation or {}),
        body=rendered.body,
        segments=rendered.segments,
        status=AWAITING_APPROVAL if expected > approval_above else RECORDING,
        cursor="",
        expected=expected,
        recorded=0,
        created_by=by,
        created_at=now,
    )
    session.add(broadcast)
    return broadcast


def decide(session, broadcast: Broadcast, approve: bool, by: str, now, reason: str | None = None) -> Broadcast:
    """The second person's decision on a broadcast awaiting approval: a conditional update, so two
    admins deciding at once cannot both succeed."""
    if broadcast.created_by == by:
        raise MakerCheckerViolation("the admin who created a broadcast may not approve or reject it")
    values = {"status": RECORDING, "approved_by": by, "approved_at": now} if approve else {
        "status": REJECTED, "rejected_reason": reason, "approved_by": by, "approved_at": now}  # fmt: skip
    if not move_status(session, Broadcast, broadcast.id, AWAITING_APPROVAL, values):
        raise Conflict(f"broadcast {broadcast.id} is not awaiting approval")
    session.expire(broadcast)
    return broadcast


def record_page(session, broadcast: Broadcast, page_size: int, now: datetime, quiet: tuple) -> int:
    """Record the next page of recipients and move the cursor, in the session's transaction; the last page
    (shorter than `page_size`) moves the broadcast on to sending."""
    page = session.execute(
        audience(broadcast.segment)
        .add_columns(Contact.phone_encrypted, Contact.phone_index, Contact.phone_masked)
        .where(Contact.resident_id > broadcast.cursor)
        .order_by(Contact.resident_id)
        .limit(page_size)
    ).all()
    release = rules.quiet_hours_release(now, *quiet)
    rows = [
        {
            "id": new_id(),
            "dedupe_key": f"broadcast:{broadcast.id}:{resident_id}",
            "source_event_id": None,
            "broadcast_id": broadcast.id,
            "fallback_of": None,
            "resident_id": resident_id,
            "channel": statuses.SMS,
            "kind": statuses.PROMOTIONAL,
            "template_id": broadcast.template_id,
            "template_version": broadcast.template_version,
            "personalisation": broadcast.personalisation,
            "body": broadcast.body,
            "billed_length": len(broadcast.body),
            "segments": broadcast.segments,
            "recipient_encrypted": phone_encrypted,
            "phone_index": phone_index,
            "phone_masked": phone_masked,
            "status": statuses.CREATED,
            "hold_reason": statuses.QUIET_HOURS if release else None,
            "next_attempt_at": release or now,
            "attempts": 0,
            "submission": 1,
            "created_at": now,
            "updated_at": now,
        }
        for resident_id, phone_encrypted, phone_index, phone_masked in page
    ]
    if rows:
        session.execute(insert(Notification), rows)
        metrics.reached(statuses.SMS, None, statuses.CREATED, len(rows))
        broadcast.cursor = rows[-1]["resident_id"]
        broadcast.recorded += len(rows)
    if len(rows) < page_size:
        broadcast.status = SENDING
        broadcast.recorded_at = now
    return len(rows)


RECORDING_JOB = "broadcast_recording"


def start_recording(jobs, session, broadcast: Broadcast, by: str) -> None:
    """Start the job recording a broadcast that may go (it commits the session's transaction with it)."""
    jobs.start_job(session, RECORDING_JOB, broadcast.id, {"broadcast_id": broadcast.id}, by)


def record_chunk(context: ChunkContext) -> Chunk:
    broadcast = context.session.get(Broadcast, context.params["broadcast_id"])
    if broadcast is None or broadcast.status != RECORDING:
        return Chunk(context.cursor, finished=True)
    quiet = Settings.from_config(context.config).quiet
    recorded = record_page(context.session, broadcast, context.size, context.now, quiet)
    return Chunk(broadcast.cursor, done=recorded, counts={"recorded": recorded}, finished=broadcast.status != RECORDING)


def _expected(session, params: dict) -> int:
    return session.get(Broadcast, params["broadcast_id"]).expected


RECORDING_KIND = JobKind(record_chunk, roles=("admin",), total=_expected, size=2000)


def in_flight(session, broadcast_id: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.broadcast_id == broadcast_id,
                or_(Notification.status.in_(statuses.IN_FLIGHT), Notification.next_attempt_at.is_not(None)),
            )
        )
        or 0
    )


def complete_finished(session, now: datetime) -> int:
    done = 0
    for broadcast in session.scalars(select(Broadcast).where(Broadcast.status == SENDING)).all():
        if in_flight(session, broadcast.id) == 0:
            broadcast.status = COMPLETED
            broadcast.completed_at = now
            done += 1
    session.commit()
    return done


def progress(session, broadcast: Broadcast) -> dict:
    counts = dict(
        session.execute(
            select(Notification.status, func.count())
            .where(Notification.broadcast_id == broadcast.id)
            .group_by(Notification.status)
        ).all()
    )
    return {
        "id": broadcast.id,
        "template_id": broadcast.template_id,
        "template_version": broadcast.template_version,
        "segment": broadcast.segment,
        "body": broadcast.body,
        "segments": broadcast.segments,
        "status": broadcast.status,
        "expected": broadcast.expected,
        "recorded": broadcast.recorded,
        # the job recording it (`job_status`, `newcitizen job`); none while it awaits approval or was rejected
        "job_id": session.scalar(
            select(Job.id).where(Job.kind == RECORDING_JOB, Job.key == broadcast.id).order_by(Job.created_at.desc())
        ),
        "by_status": {status: int(counts.get(status, 0)) for status in statuses.ALL},
        "created_by": broadcast.created_by,
        "created_at": iso(broadcast.created_at),
        "approved_by": broadcast.approved_by,
        "approved_at": iso(broadcast.approved_at),
        "rejected_reason": broadcast.rejected_reason,
        "recorded_at": iso(broadcast.recorded_at),
        "completed_at": iso(broadcast.completed_at),
    }

"""notify's tables. Only this service reads or writes them.

Phones are stored encrypted (`*_encrypted`) with a blind index (`phone_index`) for exact look-up and a
masked copy (`phone_masked`, 138****5678) for display. Nothing else holds a number in the clear.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.platform import clock
from shared.platform.jobs import JobColumns

utcnow = clock.utcnow


class Base(DeclarativeBase):
    pass


class Contact(Base):
    __tablename__ = "contacts"

    resident_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    phone_encrypted: Mapped[str | None] = mapped_column(String(512), nullable=True)
    phone_index: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    phone_masked: Mapped[str | None] = mapped_column(String(20), nullable=True)
    wechat_openid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    preferred_channel: Mapped[str] = mapped_column(String(10), default="sms")
    promo_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    town: Mapped[str | None] = mapped_column(String(40), nullable=True)
    category: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_contacts_segment", "town", "category", "resident_id"),)


class OptOut(Base):
    """A number that replied T / TD / 退订: no promotional message goes to it, whoever's contact it is."""

    __tablename__ = "opt_outs"

    phone_index: Mapped[str] = mapped_column(String(64), primary_key=True)
    keyword: Mapped[str] = mapped_column(String(10))
    opted_out_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Template(Base):
    """One approved version of a template; a change is a new row with version + 1."""

    __tablename__ = "templates"

    template_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # transactional | promotional
    body: Mapped[str] = mapped_column(Text)
    wechat_template_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProviderTemplate(Base):
    """A template version as one SMS provider approved it: its code and its variables in the provider's order
    (Alibaba names them, Tencent numbers them {1}, {2}, …). Messages go as code + parameters, never as text."""

    __tablename__ = "provider_templates"

    template_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20), primary_key=True)  # aliyun | tencent
    code: Mapped[str] = mapped_column(String(64))
    variables: Mapped[list] = mapped_column(JSON, default=list)
    allow_links: Mapped[bool] = mapped_column(Boolean, default=False)  # approved with a link or phone in a variable

    def spec(self) -> dict:
        return {"code": self.code, "variables": list(self.variables), "allow_links": self.allow_links}


class SmsUsage(Base):
    """Billed segments and messages per provider per Asia/Shanghai day: the quota and the bill."""

    __tablename__ = "sms_usage"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20), primary_key=True)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    segments: Mapped[int] = mapped_column(Integer, default=0)


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # one notification per (source event, template), per (broadcast, resident), per fallback
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    source_event_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    broadcast_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    fallback_of: Mapped[str | None] = mapped_column(String(36), nullable=True)
    resident_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(10))  # sms | wechat
    kind: Mapped[str] = mapped_column(String(20))
    template_id: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[int] = mapped_column(Integer)
    personalisation: Mapped[dict] = mapped_column(JSON, default=dict)
    body: Mapped[str] = mapped_column(Text)  # as billed: signature + text
    billed_length: Mapped[int] = mapped_column(Integer)
    segments: Mapped[int] = mapped_column(Integer)
    # the recipient: encrypted phone (sms) or openid (wechat); null while waiting for a contact
    recipient_encrypted: Mapped[str | None] = mapped_column(String(512), nullable=True)
    phone_index: Mapped[str | None] = mapped_column(String(64), nullable=True)
    phone_masked: Mapped[str | None] = mapped_column(String(20), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="created")
    hold_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # when the dispatcher should (re)try; null once final or handed to a provider
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(36), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # tries, for the retry limit
    # the number in our out_id (<id>.<submission>): moves on only once the last submission is known finished
    # at the provider (refused, or a failure receipt); a try whose answer was lost goes again under the same
    submission: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    provider: Mapped[str | None] = mapped_column(String(20), nullable=True)  # the last one handed it
    # the provider that may hold the current out_id although its answer was lost: the retry goes there only
    held_by: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # what names that call, to ask the vendor's records before a resend: its client id (our out_id, or the
    # token of a call of several) and when it was made (notify_0016)
    held_call: Mapped[str | None] = mapped_column(String(80), nullable=True)
    held_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    provider_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        Index("ix_notifications_due", "next_attempt_at"),
        Index("ix_notifications_sending", "status", "sent_at"),
        Index("ix_notifications_resident", "resident_id", "created_at"),
        Index("ix_notifications_phone", "phone_index", "template_id", "sent_at"),
        Index("ix_notifications_broadcast", "broadcast_id", "status"),
        Index("ix_notifications_provider_ref", "provider_ref"),
    )


class EarlyReceipt(Base):
    """A receipt that arrived before its submission was recorded (the provider can be quicker than our
    commit); applied as soon as the notification is `sending`, pruned after a day if it never matches."""

    __tablename__ = "early_receipts"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)  # "<channel>:o:<out_id>" | "<channel>:r:<ref>"
    channel: Mapped[str] = mapped_column(String(10))
    out_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    provider_ref: Mapped[str | None] = mapped_column(String(80), nullable=True)
    code: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class CallbackNonce(Base):
    """A signed callback accepted: its nonce is refused again until `expires_at` (Unix seconds), when its
    timestamp is out of the signature window and it would be refused as stale anyway."""

    __tablename__ = "callback_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)


class Broadcast(Base):
    __tablename__ = "broadcasts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    template_id: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[int] = mapped_column(Integer)
    segment: Mapped[dict] = mapped_column(JSON)
    personalisation: Mapped[dict] = mapped_column(JSON)
    body: Mapped[str] = mapped_column(Text)
    segments: Mapped[int] = mapped_column(Integer)
    # awaiting_approval | rejected | recording | sending | completed
    status: Mapped[str] = mapped_column(String(20), default="recording")
    cursor: Mapped[str] = mapped_column(String(64), default="")  # last resident_id recorded
    expected: Mapped[int] = mapped_column(Integer, default=0)  # consenting contacts when it was created
    recorded: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)  # or rejected by
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    rejected_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class SendRateBucket(Base):
    """One token bucket per channel shared by every notify replica (services/notify/send_rate.py).
    `refilled_at` is the database server's clock in epoch seconds, so replicas on different hosts agree."""

    __tablename__ = "send_rate_buckets"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    refilled_at: Mapped[float] = mapped_column(Float)


class Job(JobColumns, Base):
    """A batch run as a job (shared/platform/jobs.py): the retention purge."""

    __tablename__ = "jobs"

"""The provider interface: one small class per way out.

A provider takes a batch of `Outgoing` messages and answers one `Submission` per message: accepted (a
receipt will follow, or — for the log provider — already delivered), failed at once with a status, or
throttled (try again later; not counted as an attempt). Receipts arrive later on notify's HTTP callbacks
and are mapped to our statuses by the provider's `receipt_status`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from services.notify import statuses
from shared.platform.personal_data import mask_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    out_id: str  # notification id + "." + submission number: the gateway de-duplicates on it
    recipient: str  # phone (sms) or openid (wechat), decrypted just for the call
    body: str  # signature + text
    template_id: str
    personalisation: dict = field(default_factory=dict)
    wechat_template_id: str | None = None
    # per provider name: {"code": approved template code, "variables": [names in the provider's order], ...}
    provider_templates: dict = field(default_factory=dict)
    segments: int = 1
    # the provider that may hold this very out_id already (its answer to the last try was lost): the retry
    # must go there and nowhere else, or two providers could each send it
    held_by: str | None = None
    # what names the call whose answer was lost, for asking the vendor before a resend: the call's client id
    # (our out_id, or the token of a call of several) and when it was made (the vendor's records are by date)
    held_call: str | None = None
    held_at: datetime | None = None


@dataclass(frozen=True)
class Submission:
    out_id: str
    accepted: bool = False
    delivered: bool = False  # the provider confirmed delivery synchronously (log provider)
    provider_ref: str | None = None
    status: str | None = None  # a failure status when not accepted
    reason: str | None = None
    retry_after: float | None = None  # throttled: try again after this many seconds, not an attempt
    provider: str | None = None  # which provider answered (set by the route when there are several)
    # the provider is known to be done with this submission (it refused it): a retry is a new submission and
    # may go anywhere. None: decided by the status (every failure but a technical one is a refusal)
    finished: bool | None = None
    # a technical failure whose outcome is unknown: what names the call, kept with the held notification
    held_call: str | None = None
    held_at: datetime | None = None
    # accepted as the vendor's records showed it after a lost answer: its receipt code there, if it has one
    receipt: str | None = None


class Provider:
    name = "provider"
    channel = statuses.SMS
    batch_size = 1  # the most messages `send` takes at once: the provider's own limit a call

    def send(self, batch: list[Outgoing]) -> list[Submission]:
        raise NotImplementedError

    def receipt_status(self, code: str) -> tuple[str, str | None]:
        """Map a provider's receipt code to (our status, reason)."""
        raise NotImplementedError

    def parse_receipt(self, item: dict) -> tuple[str | None, str | None, str]:
        """(out_id, provider_ref, code) from one pushed receipt; one of the first two names the message."""
        return item.get("out_id"), item.get("msgid"), str(item.get("code", ""))


class LogProvider(Provider):
    """Records the message in the log (number masked) and calls it delivered: the default for `make run`."""

    name = "log"
    batch_size = 500

    def __init__(self, channel: str = statuses.SMS):
        self.channel = channel

    def send(self, batch: list[Outgoing]) -> list[Submission]:
        for message in batch:
            log.info("%s via log provider to %s: %s", self.channel, mask_text(message.recipient), message.body)
        return [Submission(m.out_id, accepted=True, delivered=True, provider_ref=f"log-{m.out_id}") for m in batch]

    def receipt_status(self, code: str) -> tuple[str, str | None]:
        return statuses.DELIVERED, None


def all_failed(batch: list[Outgoing], status: str, reason: str, **extra) -> list[Submission]:
    return [Submission(m.out_id, status=status, reason=reason[:200], **extra) for m in batch]


def seconds(value, default: float) -> float:
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return default


def calls(batch: list[Outgoing], key, limit: int) -> list[list[Outgoing]]:
    """The batch split into provider calls: messages of one `key` together, at most `limit` a call, and a
    number at most once a call (its answer and receipts are matched back by number)."""
    groups: dict = {}
    for message in batch:
        # each open call with a set of its numbers: scanning the call's messages for each message took 17 ms
        # of notify's CPU per Tencent call of 200 (1.6 ms with the set), ten seconds of a broadcast to 112,041
        open_calls = groups.setdefault(key(message), [])
        target = next((c for c in open_calls if len(c[0]) < limit and message.recipient not in c[1]), None)
        if target is None:
            target = ([], set())
            open_calls.append(target)
        target[0].append(message)
        target[1].add(message.recipient)
    return [call for open_calls in groups.values() for call, _ in open_calls]


def is_our_out_id(value) -> bool:
    """`<notification id>.<submission>`: a provider's client-id field echoed back may also carry a call's token."""
    nid, _, submission = str(value or "").rpartition(".")
    return bool(nid) and submission.isdigit()

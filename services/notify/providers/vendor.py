"""What the template-code providers (Alibaba Cloud, Tencent Cloud) share: the check before sending, the
split into calls, and the mapping of their codes onto our statuses."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from services.notify import metrics, provider_templates, statuses
from services.notify.providers.base import Outgoing, Provider, Submission, calls
from shared.platform.ids import new_id

PERMANENT = statuses.PERMANENT_FAILURE
TEMPORARY = statuses.TEMPORARY_FAILURE
TECHNICAL = statuses.TECHNICAL_FAILURE
# the mainland mobile numbers both accept; one bad number refuses a whole Alibaba batch call
MOBILE = re.compile(r"^1[3-9]\d{9}$")


class TemplateCodeProvider(Provider):
    """`batch_size` is the most numbers one call of the vendor's takes: `send` splits a batch into calls of
    at most that many."""

    channel = statuses.SMS
    # submission codes -> our status; anything else the provider refused is a temporary failure
    SUBMIT_CODES: dict[str, str] = {}
    THROTTLED_CODES: frozenset = frozenset()
    # refusals that say our account cannot send (not this message's fault): code -> one of ACCOUNT_KINDS,
    # counted so that an operator is paged before every message fails over or waits
    ACCOUNT_CODES: dict[str, str] = {}
    TECHNICAL_PREFIXES: tuple = ("InternalError", "isp.")  # the provider's own failures, whatever the detail
    DELIVERED_RECEIPTS: frozenset = frozenset()
    PERMANENT_RECEIPTS: frozenset = frozenset()

    def send(self, batch: list[Outgoing]) -> list[Submission]:
        results: dict[str, Submission] = {}
        ready = []
        for message in batch:
            if message.held_by == self.name and message.held_call:
                found = self.look_up(message)  # ask before a resend: its answer was lost, it may have gone
                if found is not None:
                    results[message.out_id] = found
                    continue
            spec = message.provider_templates.get(self.name)
            problem = provider_templates.problem(self.name, spec, message.personalisation)
            if problem is None and not MOBILE.match(message.recipient):
                problem = "not a mainland mobile number"
            if problem is None:
                ready.append(message)
            else:  # the provider would refuse it: do not spend a call on it
                results[message.out_id] = Submission(message.out_id, status=PERMANENT, reason=problem, finished=True)
        for call in calls(ready, self.call_key, self.batch_size):
            for submission in self.send_call(call):
                results[submission.out_id] = submission
        return [results[m.out_id] for m in batch]

    def call_key(self, message: Outgoing):
        """Messages that may share one call."""
        return message.provider_templates[self.name]["code"]

    def send_call(self, call: list[Outgoing]) -> list[Submission]:
        raise NotImplementedError

    def look_up(self, message: Outgoing) -> Submission | None:
        """What the vendor's records say of a message whose answer was lost: accepted (with the vendor's id, and
        its receipt code if it has one), None when it clearly never took it (send it now), or still held (a
        technical failure not finished) when the records cannot tell yet or the query failed."""
        raise NotImplementedError

    def still_held(self, message: Outgoing, reason: str) -> Submission:
        return Submission(message.out_id, status=TECHNICAL, reason=reason[:200], finished=False,
                          held_call=message.held_call, held_at=message.held_at)  # fmt: skip

    @staticmethod
    def lost(call: list[Outgoing], reason: str, client_id: str, at: datetime) -> list[Submission]:
        """The call's answer never came: it may have been taken. What names it goes with each message."""
        return [Submission(m.out_id, status=TECHNICAL, reason=reason[:200], finished=False, held_call=client_id,
                           held_at=at) for m in call]  # fmt: skip

    @staticmethod
    def client_id(call: list[Outgoing]) -> str:
        """The provider's one client-id field of a call: our out_id for one message, a token for several (their
        receipts are matched by the provider's id instead)."""
        return call[0].out_id if len(call) == 1 else f"call-{new_id()}"

    @staticmethod
    def called_at(message: Outgoing) -> datetime:
        """When the lost call was made (SQLite hands it back naive: it is UTC)."""
        at = message.held_at or datetime.now(UTC)
        return at if at.tzinfo else at.replace(tzinfo=UTC)

    def refusal(self, out_id: str, code: str, message: str | None) -> Submission:
        reason = f"{self.name} {code}: {message or ''}".strip()[:200]
        if code in self.THROTTLED_CODES:
            return Submission(out_id, retry_after=1.0, reason=reason)
        kind = self.ACCOUNT_CODES.get(code)
        if kind:
            metrics.account_refused(self.name, kind)
        status = self.SUBMIT_CODES.get(code) or (TECHNICAL if code.startswith(self.TECHNICAL_PREFIXES) else TEMPORARY)
        return Submission(out_id, status=status, reason=reason, finished=True)

    def receipt_status(self, code: str) -> tuple[str, str | None]:
        if code in self.DELIVERED_RECEIPTS:
            return statuses.DELIVERED, None
        if code in self.PERMANENT_RECEIPTS:
            return PERMANENT, f"{self.name} receipt {code}"
        return TEMPORARY, f"{self.name} receipt {code}"

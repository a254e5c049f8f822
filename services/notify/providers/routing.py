"""The SMS route: one or more providers in priority order, and failover between them.

Traffic goes to the first provider that is healthy. A provider whose technical failures over the last
`window` seconds reach `threshold` (of at least `min_results` answers) is left alone for `cooldown` seconds,
then tried again. A retry of an out_id whose answer was lost goes back to the provider that may hold it
(`Outgoing.held_by`), healthy or not: sending it elsewhere could deliver it twice.

The route's `batch_size` is that of the provider traffic goes to now (Alibaba's 100, Tencent's 200: the
smallest of all would send Tencent's broadcast in half-full calls), and each provider is handed at most its
own `batch_size` at once.

Receipt codes are kept as "<provider>:<code>", so a receipt kept for later (`early_receipts`) is still read
by the provider that sent it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from services.notify import statuses
from services.notify.providers.base import Outgoing, Provider, Submission


@dataclass(frozen=True)
class Failover:
    window: float = 300.0
    threshold: float = 0.5
    min_results: int = 20
    cooldown: float = 120.0


class Health:
    """Technical failures of one provider over a sliding window (per process, like the token bucket)."""

    def __init__(self, policy: Failover, monotonic: Callable[[], float]):
        self.policy = policy
        self.monotonic = monotonic
        self.results: deque = deque()  # (when, technical)
        self.resting_until = 0.0
        self.lock = threading.Lock()

    def record(self, technical: list[bool]) -> None:
        now = self.monotonic()
        with self.lock:
            self.results.extend((now, failed) for failed in technical)
            self._trim(now)
            failures = sum(1 for _, failed in self.results if failed)
            if len(self.results) >= self.policy.min_results and failures >= self.policy.threshold * len(self.results):
                self.resting_until = now + self.policy.cooldown
                self.results.clear()  # judged afresh when it comes back

    def healthy(self) -> bool:
        return self.monotonic() >= self.resting_until

    def _trim(self, now: float) -> None:
        while self.results and self.results[0][0] < now - self.policy.window:
            self.results.popleft()


class SmsRoute(Provider):
    channel = statuses.SMS

    def __init__(self, providers: list[Provider], policy: Failover = Failover(), monotonic=time.monotonic):
        if not providers:
            raise ValueError("at least one SMS provider")
        self.members = {provider.name: provider for provider in providers}
        self.order = [provider.name for provider in providers]
        self.health = {name: Health(policy, monotonic) for name in self.order}
        self.name = self.order[0]

    @property
    def batch_size(self) -> int:
        return self.members[self.current()].batch_size

    def member(self, name: str) -> Provider:
        return self.members[name]

    def current(self) -> str:
        """The provider new messages go to now."""
        return next((name for name in self.order if self.health[name].healthy()), self.order[0])

    def send(self, batch: list[Outgoing]) -> list[Submission]:
        chosen = self.current()
        by_provider: dict[str, list[Outgoing]] = {}
        for message in batch:
            name = message.held_by if message.held_by in self.members else chosen
            by_provider.setdefault(name, []).append(message)
        results: dict[str, Submission] = {}
        for name, messages in by_provider.items():
            member, size = self.members[name], self.members[name].batch_size
            answers = [a for i in range(0, len(messages), size) for a in member.send(messages[i : i + size])]
            self.health[name].record([a.status == statuses.TECHNICAL_FAILURE for a in answers if a.retry_after is None])
            results.update(
                (a.out_id, replace(a, provider=name, receipt=a.receipt and f"{name}:{a.receipt}")) for a in answers
            )
        return [results[m.out_id] for m in batch]

    def parse_receipt(self, item: dict, source: str | None = None) -> tuple[str | None, str | None, str]:
        name = source or self.order[0]
        out_id, ref, code = self.members[name].parse_receipt(item)
        return out_id, ref, f"{name}:{code}"

    def receipt_status(self, code: str) -> tuple[str, str | None]:
        name, _, raw = code.partition(":")
        if name not in self.members:  # kept before codes were qualified
            name, raw = self.order[0], code
        return self.members[name].receipt_status(raw)

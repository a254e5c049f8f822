"""What a policy rule answers: one shape in every service, so a refusal reads the same wherever it was made.

`rule` is the code a failure is known by: the reason code an event carries (its contract's enumeration), which
notify words for the resident (`services/notify/reasons.py`). Keep a code once it is published: consumers
key on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    reason: str  # short: what an answer quotes ("hukou required")
    detail: str  # the facts and the figure compared
    policy_ref: str | None = None

    def to_dict(self) -> dict:
        return {
            "rule": self.rule,
            "passed": self.passed,
            "reason": self.reason,
            "detail": self.detail,
            "policy_ref": self.policy_ref,
        }


def failed_codes(results: Iterable[RuleResult]) -> list[str]:
    """The codes of the rules that failed, in the order they were checked: what an event's reasons carry."""
    return [result.rule for result in results if not result.passed]

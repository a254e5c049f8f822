"""Which periods a disbursement may pay today: money is paid when it is due, never in advance.

- A normal run pays the current period (Asia/Shanghai), or the next one from `DISBURSEMENT_EARLY_DAYS`
  before its payment date (the first day of its month), so the run can be made ahead of the weekend or
  holiday the 1st falls on.
- A backfill records payments made on paper before the platform (counted, not messaged): only periods
  before the go-live date (`DISBURSEMENT_GO_LIVE`), and never the current period or a later one whatever
  go-live says, since a backfill sends no SMS.

Anything else is a `ValidationError` on `period` naming the allowed range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from services.housing.rules import period_of, shift_period
from shared.platform.errors import ValidationError

DEFAULT_EARLY_DAYS = 5  # [assumed] docs/services/housing.md
DEFAULT_GO_LIVE = date(2025, 1, 1)  # [assumed] the month after the demo's 2019–2024 history
MAX_EARLY_DAYS = 27  # the next period never opens before the current one has begun


@dataclass(frozen=True)
class PaySchedule:
    early_days: int = DEFAULT_EARLY_DAYS
    go_live: date = DEFAULT_GO_LIVE

    @classmethod
    def from_config(cls, config) -> PaySchedule:
        early_days = int(config.get("DISBURSEMENT_EARLY_DAYS", DEFAULT_EARLY_DAYS))
        go_live = config.get("DISBURSEMENT_GO_LIVE") or DEFAULT_GO_LIVE
        if not isinstance(go_live, date):  # YAML reads 2025-01-01 as a date, the environment as text
            go_live = date.fromisoformat(str(go_live))
        if not 0 <= early_days <= MAX_EARLY_DAYS:
            raise ValueError(f"DISBURSEMENT_EARLY_DAYS must be 0–{MAX_EARLY_DAYS}, got {early_days}")
        return cls(early_days, go_live)

    def opens(self, period: str) -> date:
        """The first day a normal run may pay `period`."""
        return payment_date(period) - timedelta(days=self.early_days)

    def payable(self, today: date) -> tuple[str, ...]:
        """The periods a normal run may pay on `today`."""
        current = period_of(today)
        upcoming = shift_period(current, 1)
        return (current, upcoming) if today >= self.opens(upcoming) else (current,)

    def last_backfill(self, today: date) -> str:
        return min(shift_period(period_of(self.go_live), -1), shift_period(period_of(today), -1))

    def check(self, period: str, backfill: bool, today: date) -> None:
        if backfill:
            last = self.last_backfill(today)
            if period > last:  # YYYY-MM compares as text in calendar order
                raise ValidationError({
                    "period": [f"A backfill may record only periods up to {last} (before go-live on "
                               f"{self.go_live.isoformat()}, and before the current period)."]
                })  # fmt: skip
            return
        payable = self.payable(today)
        if period not in payable:
            upcoming = shift_period(period_of(today), 1)
            raise ValidationError({
                "period": [f"A run may pay only {' or '.join(payable)} today ({today.isoformat()}); {upcoming} "
                           f"from {self.opens(upcoming).isoformat()}."]
            })  # fmt: skip


def payment_date(period: str) -> date:
    return date(int(period[:4]), int(period[5:7]), 1)

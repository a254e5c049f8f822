"""The headline figures derived from sums and distinct counts, and the report's wording.

Pure functions: the service feeds them what its SQL aggregates return, the tests what `fold` returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from services.stats.fold import APPEALABLE

FEN_PER_WAN_YUAN = 1_000_000  # 1 万元 = 10,000 yuan = 1,000,000 fen

# headline name -> the counter it reads
COUNTED = {
    "subsidy_applications": "housing.subsidy_application_submitted",
    "subsidy_approvals": "housing.subsidy_approved",
    "subsidy_rejections": "housing.subsidy_rejected",
    "tenancies": "housing.tenancy_started",
    "insurance_enrolments": "insurance.enrolment_activated",
}
APPEAL_STEPS = ("received", "upheld", "dismissed")  # appeal counts sum every service's counter
NOTIFICATIONS = {
    "sent": "notify.notification_sent",
    "delivered": "notify.notification_delivered",
    "failed": "notify.notification_failed",
}


def headline(sums: Mapping[str, int], distinct: Mapping[str, int]) -> dict:
    """The Center's figures from one selection's sums (incl. counters) and distinct counts. Money in fen."""
    figures = {name: sums.get(counter, 0) for name, counter in COUNTED.items()}
    figures.update(
        households=distinct.get("households", 0),
        subsidy_paid_fen=sums.get("subsidy_paid_fen", 0),
        operator_subsidy={
            "projects": distinct.get("operator_subsidy_projects", 0),
            "units": sums.get("operator_subsidy_units", 0),
            "amount_fen": sums.get("operator_subsidy_fen", 0),
        },
        participations=sums.get("participations", 0),
        notifications={name: sums.get(counter, 0) for name, counter in NOTIFICATIONS.items()},
        appeals={step: sum(sums.get(f"{source}.appeal_{step}", 0) for source in APPEALABLE) for step in APPEAL_STEPS},
    )
    return figures


def flatten(figures: Mapping, prefix: str = "") -> dict[str, int]:
    """`{"operator_subsidy": {"units": 3}}` -> `{"operator_subsidy_units": 3}` (gauge names)."""
    flat: dict[str, int] = {}
    for name, value in figures.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, prefix=f"{prefix}{name}_"))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def wan_yuan(fen: int) -> str:
    """Fen as 万元 the way the Center writes it: 3447, 380.44, 0.5 (two decimals at most, no trailing zeros)."""
    value = (Decimal(fen) / FEN_PER_WAN_YUAN).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return format(value, "f").rstrip("0").rstrip(".")


def span(from_year: int, to_year: int) -> str:
    return f"{from_year}年" if from_year == to_year else f"{from_year}年至{to_year}年"


def report_text(from_year: int, to_year: int, figures: Mapping, by_year: Mapping[int, Mapping]) -> str:
    """A short Chinese summary in the words of the Center's 2025 reply; sentences without data are left out,
    and a range without any says so. Counts are exact sums of events, so none is "约" (about)."""
    period = span(from_year, to_year)
    sentences = []
    if figures["households"] or figures["subsidy_paid_fen"]:
        sentences.append(
            f"{period}，累计保障外来务工人员家庭{figures['households']}户，"
            f"发放公租房租金补贴{wan_yuan(figures['subsidy_paid_fen'])}万元。"
        )
    for year in sorted(by_year):
        operator = by_year[year]["operator_subsidy"]
        if operator["projects"] or operator["amount_fen"]:
            sentences.append(
                f"{year}年，共计对{operator['projects']}个项目{operator['units']}套保租房"
                f"发放运营奖补{wan_yuan(operator['amount_fen'])}万元。"
            )
    if figures["tenancies"]:
        sentences.append(f"{period}，新签保障性租赁住房租约{figures['tenancies']}份。")
    if figures["insurance_enrolments"]:
        sentences.append(f"{period}，为新市民办理参保{figures['insurance_enrolments']}人次。")
    appeals = figures["appeals"]
    if appeals["received"]:
        sentences.append(
            f"{period}，受理复核申请{appeals['received']}件，"
            f"纠正原决定{appeals['upheld']}件，维持原决定{appeals['dismissed']}件。"
        )
    if figures["participations"]:
        sentences.append(f"{period}，各类新市民活动累计参与{figures['participations']}人次。")
    return "".join(sentences) or f"{period}暂无统计数据。"

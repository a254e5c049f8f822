"""The fold: a pure function from consumed envelopes to the Center's figures.

Every envelope becomes a handful of *facts*, each filed under (year, town, category):

* a count of 1 under its own counter `"<source>.<event_type>"`, for every event, ruled or not;
* the sums its rule names (`subsidy_paid_fen` += `amount_fen`, ...);
* a 1 under each metric its rule counts when the envelope qualifies (`venues_sharing:reading_room`, ...);
* the members of the distinct counts its rule names (`households` ∋ `resident_id`, ...; a list field gives
  one member per item, as a training's trainees);
* the snapshots its rule names (`followers:wechat` = `followers` as of `as_of`): a standing figure read off
  somewhere else, where the latest wins and nothing adds up. Each carries its rank (its business time,
  then the envelope's id, so two folds in any order keep the same one); in `sums` a snapshot metric's
  value is the latest of the selection's.

A metric named with `{field}` is split by that data field's value (`held_headcount:{programme}` files the
4.20 harmony day's heads under `held_headcount:harmony_day`); the fields split on are contract enumerations,
so the metrics stay few.

`fold(envelopes)` adds the facts of many envelopes into `Figures`; the service applies the facts of one
envelope to its live tables as the envelope arrives, and `rebuild()` checks the two agree. The live
path passes envelopes whose data the contract schema has loaded (datetimes, dates); the archive path
passes the stored JSON (ISO strings). Both must give the same facts, so every reader here accepts both.

The year of a fact is the year of the event's *business* time in Asia/Shanghai (approval time,
disbursement period, assessment year ...), named by the rule; `occurred_at` is only the fallback. So
back-dated history lands in the year it describes, and a 2024-12-31 23:30 Beijing approval is 2024's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from shared.cixi.towns import resolve_town
from shared.platform.clock import SHANGHAI

UNKNOWN = ""  # the town or category of an event that does not carry one
LABEL_MAX = 50

Key = tuple[int, str, str, str]  # (year, town, category, metric)
APPEALABLE = ("housing", "insurance")  # the services whose refusals may be appealed (shared/cixi/appeals.py)


class FoldError(ValueError):
    """The envelope lacks what its rule needs: retrying cannot help."""


@dataclass(frozen=True)
class Amount:
    """A summed quantity read from `data[field]`; `default` applies when the field is absent (None: required)."""

    field: str
    default: int | None = None


@dataclass(frozen=True)
class Latest:
    """A snapshot read from `data[field]`, ranked by the business times `at` (None: the envelope has none)."""

    field: str
    at: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    when: tuple[str, ...] = ()  # data fields holding the business time, first present wins; else occurred_at
    category: tuple[str, ...] = ("category",)  # data fields naming the category, first present wins
    sums: Mapping[str, Amount] = field(default_factory=dict)  # metric -> quantity
    counts: Mapping[str, Callable[[Mapping], bool]] = field(default_factory=dict)  # metric -> when it counts 1
    distinct: Mapping[str, str] = field(default_factory=dict)  # metric -> data field identifying a member(s)
    latest: Mapping[str, Latest] = field(default_factory=dict)  # metric -> snapshot


def always(_data: Mapping) -> bool:
    return True


GENERIC = Rule()

# An activity's facts (scheduling, registrations, completion) belong to the year and kind of the activity.
ACTIVITY = Rule(when=("starts_at",), category=("kind",))
ACTIVITY_EVENTS = (
    "activity_scheduled",
    "activity_rescheduled",
    "activity_cancelled",
    "activity_completed",
    "registration_pending",
    "registration_confirmed",
    "registration_rejected",
    "waitlisted",
    "seat_offered",
    "offer_expired",
    "registration_cancelled",
    "reminder_due",
)

# One line per event kind that contributes more than its counter. Kinds without a rule are still counted
# (under "<source>.<event_type>", by occurred_at, town and category when the data carries them).
RULES: dict[tuple[str, str], Rule] = {
    ("housing", "subsidy_application_submitted"): Rule(when=("submitted_at",)),
    ("housing", "subsidy_approved"): Rule(when=("approved_at",), distinct={"households": "resident_id"}),
    ("housing", "subsidy_rejected"): Rule(when=("rejected_at",)),
    ("housing", "subsidy_disbursed"): Rule(when=("period",), sums={"subsidy_paid_fen": Amount("amount_fen")}),
    ("housing", "subsidy_ended"): Rule(when=("ended_at",)),
    ("housing", "subsidy_recertified"): Rule(when=("recertified_at",)),
    ("housing", "tenancy_started"): Rule(when=("start_date",)),
    ("housing", "tenancy_ended"): Rule(when=("ended_at",)),
    ("housing", "operator_subsidy_approved"): Rule(
        when=("year",),
        sums={"operator_subsidy_units": Amount("units"), "operator_subsidy_fen": Amount("amount_fen")},
        distinct={"operator_subsidy_projects": "project_id"},
    ),
    # notify's rules were written ahead of its contract, so they read only optional fields
    ("notify", "notification_sent"): Rule(when=("sent_at",), category=("channel", "category")),
    ("notify", "notification_delivered"): Rule(when=("delivered_at",), category=("channel", "category")),
    ("notify", "notification_failed"): Rule(when=("failed_at",), category=("channel", "category")),
    ("insurance", "enrolment_activated"): Rule(
        when=("activated_at", "coverage_start", "effective_from"), category=("scheme", "route", "category")
    ),
    **{("events", event_type): ACTIVITY for event_type in ACTIVITY_EVENTS},
    ("events", "service_hours_recorded"): Rule(
        when=("service_date",),
        sums={"volunteer_people_served": Amount("people_served"), "volunteer_minutes": Amount("minutes")},
        distinct={"volunteer_teams": "team_id"},
    ),
    # what the Center counts after the fact (services/events/records.py)
    ("events", "activity_held"): Rule(
        when=("held_on",),
        category=("programme",),
        sums={
            "participations": Amount("headcount"),
            "held_headcount:{programme}": Amount("headcount"),
            "held_child_headcount:{programme}": Amount("child_headcount"),
        },
        counts={"held_activities:{programme}": always},
        latest={"series_edition:{series}": Latest("edition", at=("held_on",))},  # 第N个, the year's latest
    ),
    ("events", "care_visit_recorded"): Rule(
        when=("visit_date",),
        category=("led_by",),
        sums={"care_children": Amount("children"), "care_gifts": Amount("gifts")},
    ),
    ("events", "training_held"): Rule(
        when=("held_on",),
        category=("topic",),
        sums={"trained:{topic}": Amount("trainees")},
        counts={"training_sessions:{topic}": always},
        distinct={"trainees:{topic}": "trainee_ids"},
    ),
    ("events", "publication_issued"): Rule(
        when=("issued_on",),
        category=("kind",),
        sums={"copies_printed:{kind}": Amount("copies_printed")},
        counts={"publications:{kind}": always, "posted_on_wechat:{kind}": lambda d: "wechat" in d["channels"]},
    ),
    ("events", "publication_distributed"): Rule(
        when=("distributed_on",), category=("kind",), sums={"copies_distributed:{kind}": Amount("copies")}
    ),
    ("events", "followers_counted"): Rule(
        when=("as_of",),
        category=("channel",),
        latest={"followers:{channel}": Latest("followers", at=("as_of", "recorded_at"))},
    ),
    ("events", "venue_registered"): Rule(
        when=("opened_on",),
        category=("kind",),
        counts={"venues:{kind}": always, "venues_sharing:{kind}": lambda d: bool(d.get("shares_venue_id"))},
    ),
    ("housing", "project_raised"): Rule(when=("year_raised",), sums={"stock_units": Amount("units")}),
    ("housing", "stock_planned"): Rule(when=("year",), sums={"stock_planned_units": Amount("units")}),
    ("housing", "operator_subsidy_planned"): Rule(
        when=("year",),
        sums={
            "planned_operator_projects": Amount("projects"),
            "planned_operator_units": Amount("units"),
            "planned_operator_fen": Amount("amount_fen"),
        },
    ),
    **{
        (source, f"appeal_{step}"): Rule(when=(when,), category=("case_type",))
        for source in APPEALABLE
        for step, when in (("received", "received_at"), ("upheld", "decided_at"), ("dismissed", "decided_at"))
    },
    ("events", "attendance_recorded"): Rule(
        when=("day",),
        category=("kind",),
        sums={"participations": Amount("participations")},  # 人次: 1 for a check-in, 0 for a check-out
    ),
}


def counter_name(source: str, event_type: str) -> str:
    return f"{source}.{event_type}"


def is_counter(metric: str) -> bool:
    return "." in metric


def rule_for(source: str, event_type: str) -> Rule:
    return RULES.get((source, event_type), GENERIC)


Ranked = tuple[str, int]  # (rank, value) of a snapshot


@dataclass(frozen=True)
class Facts:
    totals: tuple[tuple[Key, int], ...]
    members: tuple[tuple[Key, str], ...]
    latest: tuple[tuple[Key, Ranked], ...] = ()


def facts_of(envelope: Mapping) -> Facts:
    source, event_type = envelope["source"], envelope["event_type"]
    data = envelope["data"]
    rule = rule_for(source, event_type)
    year = year_of(next((data[name] for name in rule.when if data.get(name) is not None), envelope["occurred_at"]))
    town = town_of(data.get("town"))
    category = category_of(data, rule)
    kind = f"{source}.{event_type}"
    totals = [((year, town, category, counter_name(source, event_type)), 1)]
    for metric, amount in rule.sums.items():
        value = amount_of(data, amount, kind)
        if value:
            totals.append(((year, town, category, split(metric, data, kind)), value))
    for metric, qualifies in rule.counts.items():
        if qualifies(data):
            totals.append(((year, town, category, split(metric, data, kind)), 1))
    members = []
    for metric, name in rule.distinct.items():
        member = data.get(name)
        if member is None or member == "" or member == []:
            raise FoldError(f"{kind} has no {name!r} to count {metric}")
        key = (year, town, category, split(metric, data, kind))
        members += [(key, str(item)) for item in (member if isinstance(member, list) else [member])]
    latest = []
    for metric, snapshot in rule.latest.items():
        value = data.get(snapshot.field)
        if value is not None:  # an optional snapshot (a held activity outside any series)
            rank = "|".join([*(moment_text(data.get(name), kind) for name in snapshot.at), str(envelope["event_id"])])
            amount = amount_of(data, Amount(snapshot.field), kind)
            latest.append(((year, town, category, split(metric, data, kind)), (rank, amount)))
    return Facts(tuple(totals), tuple(members), tuple(latest))


def moment_text(value: object, kind: str) -> str:
    """A business time as text that sorts as the time does: a date as ISO, a moment as ISO in UTC."""
    if isinstance(value, str) and _DATE.match(value.strip()):
        return value.strip()
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise FoldError(f"{kind} has an unreadable time {value!r}") from None
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise FoldError(f"{kind} has no time {value!r} to rank its snapshot")


def keep_latest(latest: dict[Key, Ranked], key: Key, ranked: Ranked) -> None:
    if key not in latest or ranked[0] > latest[key][0]:
        latest[key] = ranked


def latest_of(ranked: Iterable[tuple[str, Ranked]]) -> dict[str, int]:
    """{metric: value} of the highest-ranked snapshot of each metric."""
    best: dict[str, Ranked] = {}
    for metric, candidate in ranked:
        if metric not in best or candidate[0] > best[metric][0]:
            best[metric] = candidate
    return {metric: value for metric, (_rank, value) in best.items()}


def split(metric: str, data: Mapping, kind: str) -> str:
    """`held_headcount:{programme}` -> `held_headcount:harmony_day`; a metric without a field is itself."""
    if "{" not in metric:
        return metric
    try:
        return metric.format_map({name: str(value)[:LABEL_MAX] for name, value in data.items()})
    except KeyError as exc:
        raise FoldError(f"{kind} has no {exc.args[0]!r} to split {metric}") from None


SPLIT = ":"  # `metric:value`, the form `split` makes


def by_value(sums: Mapping[str, int], metric: str) -> dict[str, int]:
    """{value: n} of one split metric's sums (`by_value(sums, "held_activities")` -> {"harmony_day": 32})."""
    prefix = metric + SPLIT
    return {name[len(prefix) :]: value for name, value in sums.items() if name.startswith(prefix)}


def amount_of(data: Mapping, amount: Amount, kind: str) -> int:
    value = data.get(amount.field, amount.default)
    if value is None:
        raise FoldError(f"{kind} has no {amount.field!r}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise FoldError(f"{kind} {amount.field!r} is not an integer")
    return value


_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def year_of(value: object) -> int:
    """The Asia/Shanghai calendar year of a business time: datetime, date, year, "YYYY-MM" or ISO text."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(SHANGHAI).year
    if isinstance(value, date):
        return value.year
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        if _YEAR.match(text) or _MONTH.match(text) or _DATE.match(text):
            return int(text[:4])  # a calendar period is already local: no time-zone shift
        try:
            return year_of(datetime.fromisoformat(text))
        except ValueError:
            pass
    raise FoldError(f"cannot tell the year of {value!r}")


def town_of(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        return UNKNOWN
    town = resolve_town(value)
    return town.name if town else value.strip()[:LABEL_MAX]


def category_of(data: Mapping, rule: Rule) -> str:
    for name in rule.category:
        value = data.get(name)
        if isinstance(value, str) and value:
            return value[:LABEL_MAX]
    return UNKNOWN


@dataclass
class Figures:
    """Sums and distinct-count members keyed by (year, town, category, metric)."""

    totals: dict[Key, int] = field(default_factory=dict)
    members: set[tuple[Key, str]] = field(default_factory=set)
    latest: dict[Key, Ranked] = field(default_factory=dict)

    def add(self, facts: Facts) -> None:
        for key, value in facts.totals:
            self.totals[key] = self.totals.get(key, 0) + value
        self.members.update(facts.members)
        for key, ranked in facts.latest:
            keep_latest(self.latest, key, ranked)

    def sums(self, years: tuple[int, int] | None = None, town: str | None = None) -> dict[str, int]:
        """The totals summed by metric, and each snapshot metric's latest value in the selection."""
        result: dict[str, int] = {}
        for key, value in self.totals.items():
            if _selected(key, years, town):
                result[key[3]] = result.get(key[3], 0) + value
        result.update(latest_of((key[3], ranked) for key, ranked in self.latest.items() if _selected(key, years, town)))
        return result

    def distinct(self, years: tuple[int, int] | None = None, town: str | None = None) -> dict[str, int]:
        seen: dict[str, set[str]] = {}
        for key, member in self.members:
            if _selected(key, years, town):
                seen.setdefault(key[3], set()).add(member)
        return {metric: len(members) for metric, members in seen.items()}

    def differences(self, other: Figures, limit: int = 20) -> list[str]:
        """What differs between self (live) and other (refolded), for a person to read."""
        found: list[str] = []
        for key in sorted(set(self.totals) | set(other.totals)):
            mine, theirs = self.totals.get(key, 0), other.totals.get(key, 0)
            if mine != theirs:
                found.append(f"total {'/'.join(map(str, key))}: live {mine}, refolded {theirs}")
        for key in sorted(set(self.latest) | set(other.latest)):
            mine, theirs = self.latest.get(key), other.latest.get(key)
            if mine != theirs:
                found.append(f"latest {'/'.join(map(str, key))}: live {mine}, refolded {theirs}")
        for label, members in (
            ("only live", self.members - other.members),
            ("only refolded", other.members - self.members),
        ):
            by_key: dict[Key, int] = {}
            for key, _member in members:
                by_key[key] = by_key.get(key, 0) + 1
            found += [f"members {'/'.join(map(str, key))}: {n} {label}" for key, n in sorted(by_key.items())]
        return found[:limit]


def _selected(key: Key, years: tuple[int, int] | None, town: str | None) -> bool:
    return (years is None or years[0] <= key[0] <= years[1]) and (town is None or key[1] == town)


def fold(envelopes: Iterable[Mapping]) -> Figures:
    figures = Figures()
    for envelope in envelopes:
        figures.add(facts_of(envelope))
    return figures

"""The headline figures derived from sums and distinct counts, and the report's wording.

Pure functions: the service feeds them what its SQL aggregates return, the tests what `fold` returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from services.stats.fold import APPEALABLE, by_value

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
        **counted(sums, distinct),
    )
    return figures


def counted(sums: Mapping[str, int], distinct: Mapping[str, int]) -> dict:
    """The figures of what the Center counts after the fact, each split by its contract enumeration."""
    return {
        "stock": {"units": sums.get("stock_units", 0), "planned_units": sums.get("stock_planned_units", 0)},
        "operator_subsidy_plan": {
            "projects": sums.get("planned_operator_projects", 0),
            "units": sums.get("planned_operator_units", 0),
            "amount_fen": sums.get("planned_operator_fen", 0),
        },
        "held": _split(
            sums, activities="held_activities", headcount="held_headcount", child_headcount="held_child_headcount"
        ),
        "care_visits": {
            "visits": sums.get("events.care_visit_recorded", 0),
            "children": sums.get("care_children", 0),
            "gifts": sums.get("care_gifts", 0),
        },
        "trainings": {
            topic: {**row, "children": by_value(distinct, "trainees").get(topic, 0)}
            for topic, row in _split(sums, sessions="training_sessions", trained="trained").items()
        },
        "volunteers": {
            "teams": distinct.get("volunteer_teams", 0),
            "services": sums.get("events.service_hours_recorded", 0),
            "people_served": sums.get("volunteer_people_served", 0),
            "minutes": sums.get("volunteer_minutes", 0),
        },
        "publications": _split(
            sums,
            issued="publications",
            printed="copies_printed",
            distributed="copies_distributed",
            on_wechat="posted_on_wechat",
        ),
        "venues": _split(sums, count="venues", sharing="venues_sharing"),
        # the "我在慈溪" account: followers to date (a snapshot) and its posts (文稿, publications of kind
        # `article`); a guide also posted there has its own sentence, so it is not one of the year's posts
        "wechat": {"followers": sums.get("followers:wechat", 0), "posts": sums.get("posted_on_wechat:article", 0)},
        "series": {series: {"edition": n} for series, n in sorted(by_value(sums, "series_edition").items())},
    }


def _split(sums: Mapping[str, int], **metrics: str) -> dict[str, dict[str, int]]:
    """{value: {name: n}} from split metrics (`_split(sums, count="venues")` -> {"reading_room": {"count": 15}})."""
    values = {name: by_value(sums, metric) for name, metric in metrics.items()}
    keys = sorted({key for found in values.values() for key in found})
    return {key: {name: found.get(key, 0) for name, found in values.items()} for key in keys}


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


SECTIONS = (
    ("housing", "一、安居保障"),
    ("insurance", "二、社会保障"),
    ("culture", "三、文化生活"),
    ("activities", "四、活动、关爱与志愿服务"),
)
# the seed's words for a code of the contracts' enumerations (services/events records)
PROGRAMME_WORDS = {"summer_birds": "暑期假日学校、夏令营、研学、观影等活动", "library": "图书馆阅读推广活动"}
TRAINING_WORDS = {
    "drowning_prevention": "防溺水专项宣讲",
    "fire_safety": "消防安全宣讲",
    "traffic_safety": "交通安全宣讲",
    "other": "专题培训",
}
PUBLICATION_WORDS = {"newcomer_guide": "新市民来慈指南", "policy_leaflet": "新市民政策宣传资料", "other": "宣传资料"}
SERIES_WORDS = {"happiness_day": "市民幸福体验日"}
ACCOUNT = "“我在慈溪”公众号"


def report_sections(
    from_year: int, to_year: int, figures: Mapping, by_year: Mapping[int, Mapping], standing: Mapping | None = None
) -> list[dict]:
    """The report in the order of the Center's 2025 reply (§1 housing … §4 activities, care and volunteers);
    `standing` is the figures of every year up to `to_year` (the stock raised, the venues open and the
    account's followers "to date").
    A section without data is left out. Counts are exact sums of events, so none is "约" (about); only a
    plan, which is a forecast, keeps the seed's "近/约"."""
    standing = standing if standing is not None else figures
    sentences = {
        "housing": _housing(from_year, to_year, figures, by_year, standing),
        "insurance": _insurance(from_year, to_year, figures, by_year),
        "culture": _culture(standing, by_year),
        "activities": _publicity(standing, by_year) + _activities(from_year, to_year, figures, by_year),
    }
    return [
        {"section": key, "title": title, "text": "".join(sentences[key])} for key, title in SECTIONS if sentences[key]
    ]


def report_text(
    from_year: int, to_year: int, figures: Mapping, by_year: Mapping[int, Mapping], standing: Mapping | None = None
) -> str:
    """The sections' text, one a line under its heading; a range without any data says so."""
    sections = report_sections(from_year, to_year, figures, by_year, standing)
    if not sections:
        return f"{span(from_year, to_year)}暂无统计数据。"
    return "\n".join(f"{section['title']}\n{section['text']}" for section in sections)


def _years_with(by_year: Mapping[int, Mapping], has) -> list[int]:
    return sorted(year for year, row in by_year.items() if has(row))


def _span_of(by_year: Mapping[int, Mapping], has, from_year: int, to_year: int) -> str:
    """The years that have the figure, first to last (the seed's "2019年至2024年" in a 2019–2025 report)."""
    years = _years_with(by_year, has)
    return span(years[0], years[-1]) if years else span(from_year, to_year)


def _housing(from_year, to_year, figures, by_year, standing) -> list[str]:
    sentences = []
    if standing["stock"]["units"]:
        sentences.append(f"截止{to_year}年，全市已累计筹建保障性租赁住房房源{standing['stock']['units']}套（间）")
        planned = [year for year in _years_with(by_year, lambda r: r["stock"]["planned_units"])]
        plans = "".join(f"，{year}年预计新增筹建{by_year[year]['stock']['planned_units']}套（间）" for year in planned)
        sentences.append(plans + "。")
    for year in sorted(by_year):
        operator = by_year[year]["operator_subsidy"]
        if operator["projects"] or operator["amount_fen"]:
            sentences.append(
                f"{year}年，共计对{operator['projects']}个项目{operator['units']}套保租房"
                f"发放运营奖补{wan_yuan(operator['amount_fen'])}万元。"
            )
        plan = by_year[year]["operator_subsidy_plan"]
        if plan["amount_fen"]:
            sentences.append(
                f"{year}年，预计对近{plan['projects']}个项目约{plan['units']}套保租房"
                f"发放运营奖补{wan_yuan(plan['amount_fen'])}万元。"
            )
    if figures["households"] or figures["subsidy_paid_fen"]:
        period = _span_of(by_year, lambda r: r["households"] or r["subsidy_paid_fen"], from_year, to_year)
        sentences.append(
            f"{period}，累计保障外来务工人员家庭{figures['households']}户，"
            f"发放公租房租金补贴{wan_yuan(figures['subsidy_paid_fen'])}万元。"
        )
    if figures["tenancies"]:
        period = _span_of(by_year, lambda r: r["tenancies"], from_year, to_year)
        sentences.append(f"{period}，新签保障性租赁住房租约{figures['tenancies']}份。")
    appeals = figures["appeals"]
    if appeals["received"]:
        period = _span_of(by_year, lambda r: r["appeals"]["received"], from_year, to_year)
        sentences.append(
            f"{period}，受理复核申请{appeals['received']}件，"
            f"纠正原决定{appeals['upheld']}件，维持原决定{appeals['dismissed']}件。"
        )
    return sentences


def _insurance(from_year, to_year, figures, by_year) -> list[str]:
    if not figures["insurance_enrolments"]:
        return []
    period = _span_of(by_year, lambda r: r["insurance_enrolments"], from_year, to_year)
    return [f"{period}，为新市民办理参保{figures['insurance_enrolments']}人次。"]


def _culture(standing, by_year) -> list[str]:
    venues = standing["venues"]
    count = {kind: row["count"] for kind, row in venues.items()}
    sentences = []
    if any(count.get(kind) for kind in ("city_library", "children_library", "town_branch", "reading_room")):
        rooms = venues.get("reading_room", {"count": 0, "sharing": 0})
        shared = f"（其中{rooms['sharing']}个与镇街道图书馆合并）" if rooms["sharing"] else ""
        sentences.append(
            f"全市有{count.get('city_library', 0)}个市级图书馆和{count.get('children_library', 0)}个少年儿童图书馆，"
            f"另有{count.get('town_branch', 0)}个镇街道图书馆分馆和{rooms['count']}个城市书房{shared}。"
        )
    for year in sorted(by_year):
        library = by_year[year]["held"].get("library")
        if library and library["activities"]:
            sentences.append(
                f"{year}年，市图书馆开展{PROGRAMME_WORDS['library']}{library['activities']}场，"
                f"服务{library['headcount']}人次。"
            )
    return sentences


def _publicity(standing, by_year) -> list[str]:
    """seed §4 (加强政策宣传与引导): a yearly series' edition, the account's followers to date, a year's posts."""
    sentences = []
    for year in sorted(by_year):
        for series, row in by_year[year]["series"].items():
            sentences.append(f"{year}年，开展第{row['edition']}个{SERIES_WORDS[series]}活动。")
    if standing["wechat"]["followers"]:
        sentences.append(f"{ACCOUNT}累计关注人数{standing['wechat']['followers']}人。")
    for year in _years_with(by_year, lambda r: r["wechat"]["posts"]):
        sentences.append(f"{year}年，{ACCOUNT}全年推送各类文稿{by_year[year]['wechat']['posts']}篇。")
    return sentences


def _activities(from_year, to_year, figures, by_year) -> list[str]:
    sentences = []
    for year in sorted(by_year):
        row = by_year[year]
        for kind, publication in sorted(row["publications"].items()):
            if kind == "article":  # a post is counted among the year's posts (_publicity), not as a print run
                continue
            if publication["issued"] or publication["distributed"]:
                wechat = "，并在“我在慈溪”微信公众号发布" if publication["on_wechat"] else ""
                sentences.append(
                    f"{year}年，编印{publication['printed']}份{PUBLICATION_WORDS[kind]}，"
                    f"免费向新市民分发{publication['distributed']}份{wechat}。"
                )
        summer = row["held"].get("summer_birds")
        if summer and summer["activities"]:
            sentences.append(
                f"{year}年，各地共组织开展{PROGRAMME_WORDS['summer_birds']}{summer['activities']}次，"
                f"参加的“小候鸟”{summer['child_headcount']}人次。"
            )
        for topic, training in sorted(row["trainings"].items()):
            sentences.append(
                f"{year}年，开展“小候鸟”{TRAINING_WORDS[topic]}{training['sessions']}场，"
                f"共培训“小候鸟”{training['children']}人。"
            )
        care = row["care_visits"]
        if care["visits"]:
            sentences.append(
                f"{year}年，对“小候鸟”开展慰问走访{care['visits']}次，慰问小候鸟{care['children']}人，"
                f"发放慰问品{care['gifts']}份。"
            )
        volunteers = row["volunteers"]
        if volunteers["services"]:
            sentences.append(
                f"{year}年，{volunteers['teams']}个志愿服务团队开展各类志愿服务，"
                f"累计服务新老市民{volunteers['people_served']}人次。"
            )
        harmony = row["held"].get("harmony_day")
        if harmony and harmony["activities"]:
            sentences.append(
                f"{year}年，“4.20和谐促进服务日”系列活动共开展各类活动{harmony['activities']}场，"
                f"累计服务新老市民{harmony['headcount']}人次。"
            )
    if figures["participations"]:
        period = _span_of(by_year, lambda r: r["participations"], from_year, to_year)
        sentences.append(f"{period}，各类新市民活动累计参与{figures['participations']}人次。")
    return sentences

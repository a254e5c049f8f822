"""The demo's plan for what the Center counts after the fact (seed §1 stock, §3 venues, §4 activities, care,
training, volunteers, the guide, the account's followers and posts, the 市民幸福体验日): pure and
deterministic, like `plan`. docs/demo.md says how each input was chosen; where the seed gives only a total,
the inputs are drawn from a plausible range and the plan checks that they land on the seed's figure as the
seed writes it ("1.6万余" is 16,000–16,999), or, where the seed's figure is exact and no draw can be
expected to meet it, they are an even split of it, said so here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from ops.demo.plan import SEED, person
from shared.cixi.towns import TOWNS as CIXI_TOWNS

TOWNS = tuple(town.name for town in CIXI_TOWNS)  # Cixi's 20 divisions, 宗汉街道 … 龙山镇
# seed §4: the six towns whose summer schools held the drowning-prevention talks
SUMMER_SCHOOL_TOWNS = ("横河镇", "匡堰镇", "桥头镇", "观海卫镇", "掌起镇", "龙山镇")
STOCK_UNITS = 48_888  # seed §1: 累计筹建保障性租赁住房房源48888套（间）
STOCK_PLANNED_2025 = 3_800  # seed §1
STOCK_YEARS = (2021, 2022, 2023, 2024)  # seed §1: 2021年开始 … 加快了保障性租赁住房建设筹集工作
PLAN_REF = "慈新服建〔2025〕2号 §1 (2025年预计新增筹建3800套（间）)"


@dataclass(frozen=True)
class Range:
    """The seed's figure as it writes it: `low` ≤ n ≤ `high` (an exact figure has low == high)."""

    low: int
    high: int

    def holds(self, n: int) -> bool:
        return self.low <= n <= self.high


SUMMER_CHILDREN = Range(16_000, 16_999)  # 1.6万余人次
HARMONY_HEADCOUNT = Range(11_000, 11_999)  # 1.1万人次
VOLUNTEER_SERVED = Range(1_800, 1_899)  # 1800余人次


def _check(what: str, n: int, expected: Range) -> None:
    if not expected.holds(n):
        raise ValueError(f"the drawn {what} add up to {n}, outside the seed's {expected.low}–{expected.high}")


def venues() -> list[dict]:
    """seed §3: 1 city library, 1 children's library, 17 town branches, 15 city reading rooms (4 housed in a
        branch). Which divisions have a branch and where the rooms are is [assumed]: a branch in each of the 17
        divisions other than 浒山 (the two city libraries are there), 陆中湾 (created 2024) and 白沙路; the rooms
        spread over the divisions in order, the first four in their town's branch. Names beyond the two libraries
    the seed names, and opening days: [assumed]."""
    rng = random.Random(SEED + 10)
    rows = [
        {"name": "慈溪市图书馆", "kind": "city_library", "town": "浒山街道", "opened_on": "1996-10-01"},
        {"name": "慈溪市少年儿童图书馆", "kind": "children_library", "town": "浒山街道", "opened_on": "2008-06-01"},
    ]
    branch_towns = [t for t in TOWNS if t not in ("浒山街道", "陆中湾街道", "白沙路街道")]
    for town in branch_towns:
        opened = date(2012, 1, 1) + timedelta(days=rng.randint(0, 6 * 365))
        rows.append({"name": f"慈溪市图书馆{town}分馆", "kind": "town_branch", "town": town, "opened_on": str(opened)})
    for n in range(15):
        town = branch_towns[n % len(branch_towns)]
        opened = date(2018, 1, 1) + timedelta(days=rng.randint(0, 6 * 365))
        room = {
            "name": f"慈溪城市书房·{town}{n + 1:02d}",
            "kind": "reading_room",
            "town": town,
            "opened_on": str(opened),
        }
        if n < 4:
            room["shares"] = f"慈溪市图书馆{town}分馆"
        rows.append(room)
    return rows


def summer_season() -> list[dict]:
    """seed §4: 2024年 … 暑期假日学校、夏令营、研学、观影等活动320次，参加的“小候鸟”1.6万余人次. 320 activities
    over July and August in every division; each one's children drawn from 40–62 (a class or a coach) and
    2–6 adults with them, titles and places [assumed]; the total lands in 1.6万余 without being fitted."""
    rng = random.Random(SEED + 11)
    forms = (("暑期假日学校", "summer_class"), ("夏令营", "summer_class"), ("研学", "workshop"), ("观影", "other"))
    rows = []
    for n in range(320):
        title, kind = forms[n % len(forms)]
        children = rng.randint(40, 62)
        rows.append(
            {
                "title": f"{title}·第{n // len(forms) + 1}期",
                "kind": kind,
                "programme": "summer_birds",
                "town": TOWNS[n % len(TOWNS)],
                "place": f"{TOWNS[n % len(TOWNS)]}暑期假日学校",
                "held_on": str(date(2024, 7, 1) + timedelta(days=rng.randint(0, 61))),
                "headcount": children + rng.randint(2, 6),
                "child_headcount": children,
            }
        )
    _check("summer children", sum(r["child_headcount"] for r in rows), SUMMER_CHILDREN)
    return rows


def harmony_day() -> list[dict]:
    """seed §4: 2025年4月 … “4.20和谐促进服务日”系列活动 … 各类活动32场，累计服务新老市民1.1万人次. 32 open events
    on 18–22 April 2025, 8 of each of the seed's four forms; heads drawn from 290–430 per event, a tenth of
    them children, at each division's 新时代文明实践站 [assumed]."""
    rng = random.Random(SEED + 12)
    forms = ("志愿服务", "文体活动", "素养提升", "政策宣传")
    rows = []
    for n in range(32):
        heads = rng.randint(290, 430)
        town = TOWNS[n % len(TOWNS)]
        rows.append(
            {
                "title": f"4.20和谐促进服务日·{forms[n % 4]}",
                "kind": "harmony_day",
                "programme": "harmony_day",
                "town": town,
                "place": f"{town}新时代文明实践站",
                "held_on": str(date(2025, 4, 18 + n % 5)),
                "headcount": heads,
                "child_headcount": heads // 10,
            }
        )
    _check("harmony-day heads", sum(r["headcount"] for r in rows), HARMONY_HEADCOUNT)
    return rows


def care_visits() -> list[dict]:
    """seed §4: 中心领导带队对“小候鸟”开展慰问走访6次，慰问小候鸟360人，发放慰问品360份. The seed gives totals
    only: one visit to each of the six summer schools, 60 children each (an even split of 360) and one gift
    per child (360 = 360); the days in late July [assumed]."""
    return [
        {
            "visit_date": str(date(2024, 7, 22 + n)),
            "town": town,
            "place": f"{town}暑期假日学校",
            "led_by": "center_leadership",
            "leading_official": "中心领导",  # [assumed]: the seed names no one
            "children": 60,
            "gifts": 60,
        }
        for n, town in enumerate(SUMMER_SCHOOL_TOWNS)
    ]


def trainings() -> list[dict]:
    """seed §4: 在横河镇、匡堰镇、桥头镇、观海卫镇、掌起镇、龙山镇暑期假日学校各开展小候鸟防溺水专项宣讲，共培训
    “小候鸟”300人. One talk per school, 50 different children each (an even split of 300), children born
    2012–2018 [assumed]."""
    rng = random.Random(SEED + 13)
    seen: set[str] = set()
    rows = []
    for n, town in enumerate(SUMMER_SCHOOL_TOWNS):
        trainees = []
        while len(trainees) < 50:
            number = person(rng, 2012, 2018)[0]
            if number not in seen:
                seen.add(number)
                trainees.append({"id_number": number})
        rows.append(
            {
                "topic": "drowning_prevention",
                "town": town,
                "place": f"{town}暑期假日学校",
                "held_on": str(date(2024, 7, 8 + n)),
                "trainees": trainees,
            }
        )
    return rows


TEAMS = (
    ("坎墩街道坎西村范哥志愿服务队", "坎墩街道"),  # seed §4
    ("新浦镇荣誉村流动党员志愿队", "新浦镇"),  # seed §4
    ("掌起镇小墙热线志愿服务团队", "掌起镇"),  # seed §4
    ("宗汉街道新市民红马甲志愿队", "宗汉街道"),  # [assumed]: the seed names three of the eight
    ("周巷镇新市民先锋志愿队", "周巷镇"),  # [assumed]
    ("观海卫镇新市民互助服务队", "观海卫镇"),  # [assumed]
    ("龙山镇新老市民共建志愿队", "龙山镇"),  # [assumed]
    ("古塘街道新市民之家志愿队", "古塘街道"),  # [assumed]
)


def volunteer_services() -> list[dict]:
    """seed §4: 8个镇（街道）以新市民志愿者为主体的志愿服务团队开展各类志愿服务，累计服务新老市民1800余人次. Five
    services per team in 2024, each serving 28–60 people, by 3–5 of the team's 8 volunteers for 2–4 hours
    [assumed]; the total lands in 1800余 without being fitted."""
    rng = random.Random(SEED + 14)
    rows = []
    for team, town in TEAMS:
        members = [person(rng, 1975, 2000)[0] for _ in range(8)]
        for n in range(5):
            crew = rng.sample(members, rng.randint(3, 5))
            rows.append(
                {
                    "team": team,
                    "town": town,
                    "service_date": str(date(2024, 3, 5) + timedelta(days=60 * n + rng.randint(0, 30))),
                    "people_served": rng.randint(28, 60),
                    "volunteers": [{"id_number": v, "hours": rng.choice((2, 2.5, 3, 3.5, 4))} for v in crew],
                }
            )
    _check("people served", sum(r["people_served"] for r in rows), VOLUNTEER_SERVED)
    return rows


GUIDE = {
    "title": "新市民来慈指南（2025年版）",  # the seed's 来慈指南; "2025年版" [assumed]
    "kind": "newcomer_guide",
    "issued_on": "2025-03-01",  # [assumed]: the seed says 2025
    "copies_printed": 20_000,  # seed §4: 编印2万份
    "channels": ["print", "wechat"],  # seed §4: 并在“我在慈溪”微信公众号发布
}


def guide_distributions() -> list[dict]:
    """seed §4: 免费向新市民分发. The seed does not say where: 1,000 copies to each of the 20 divisions (an even
    split of the 20,000), in March 2025 [assumed]."""
    return [
        {"town": town, "distributed_on": str(date(2025, 3, 3 + n % 20)), "copies": 1_000}
        for n, town in enumerate(TOWNS)
    ]


HAPPINESS_DAY = {
    "title": "第八个市民幸福体验日",  # seed §4: 2024年 … 开展第八个市民幸福体验日活动
    "kind": "other",
    "programme": "other",  # the Center co-organises it with the 宣传部: neither summer birds, harmony day nor library
    "town": "浒山街道",  # [assumed]: the seed names no place
    "place": "慈溪市民广场",  # [assumed]
    "held_on": "2024-05-18",  # [assumed]: the seed says 2024
    "headcount": 2_600,  # [assumed]: the seed gives no headcount; it joins only the participations' total
    "child_headcount": 300,  # [assumed]
    "series": "happiness_day",
    "edition": 8,  # seed §4: 第八个
}

# seed §4: "我在慈溪"公众号累计关注人数112041人. An operator reads the figure off the account's back office now
# and then; the earlier counts are [assumed] (a steady rise), the last is the seed's and the latest of them.
FOLLOWER_COUNTS = (("2022-12-31", 71_380), ("2023-12-31", 94_215), ("2024-06-30", 104_806), ("2024-12-31", 112_041))
ACCOUNT_COLUMNS = ("政策速递", "办事指南", "新市民风采", "活动预告", "安居慈溪", "小候鸟成长记")  # [assumed]
POSTS_2024 = 125  # seed §4: 全年推送各类文稿125篇


def posts() -> list[dict]:
    """seed §4: 全年推送各类文稿125篇. Each post is one `article` publication on the WeChat channel, so the
    count is the number of records: 125 posts in 2024, each on a weekday drawn from the year, in the
    account's columns in turn [assumed titles and days]."""
    rng = random.Random(SEED + 16)
    weekdays = [d for d in (date(2024, 1, 1) + timedelta(days=n) for n in range(366)) if d.weekday() < 5]
    days = sorted(rng.sample(weekdays, POSTS_2024))
    return [
        {
            "title": f"{ACCOUNT_COLUMNS[n % len(ACCOUNT_COLUMNS)]}（2024年第{n // len(ACCOUNT_COLUMNS) + 1}期）",
            "kind": "article",
            "issued_on": str(day),
            "copies_printed": 0,
            "channels": ["wechat"],
        }
        for n, day in enumerate(days)
    ]


def stock_projects(listed_units: int) -> list[dict]:
    """seed §1: 48,888 units raised to date. The 34 operator-subsidy projects raise the units they list
    (`listed_units`); the rest of the stock is other projects raised 2021–2024, each 80–600 units [assumed],
    drawn until the stock is reached, the last one taking what remains (the seed gives only the total)."""
    rng = random.Random(SEED + 15)
    kinds = ("new_build", "conversion", "enterprise_dormitory", "acquired")
    operators = ("慈溪城投保租房运营公司", "宁波安居集团慈溪分公司", "慈溪市产业园区公寓管理公司", "民营企业员工宿舍")
    remaining, rows = STOCK_UNITS - listed_units, []
    while remaining > 0:
        n = len(rows)
        units = min(remaining, rng.randint(80, 600))
        if 0 < remaining - units < 80:
            units = remaining  # the last project is never smaller than the smallest drawn
        rows.append(
            {
                "name": f"慈溪保租房筹建项目{n + 1:03d}号",
                "operator": operators[n % 4],
                "town": TOWNS[rng.randrange(len(TOWNS))],
                "kind": kinds[rng.randrange(len(kinds))],
                "year_raised": STOCK_YEARS[n % len(STOCK_YEARS)],
                "planned_units": units,
            }
        )
        remaining -= units
    return rows

"""The demo's plan: which households, projects and units, chosen so the totals are the seed's exactly.

Pure and deterministic (a fixed seed): the same plan every run, which is what makes a re-run find what
the last run already created. The amounts are planned here from the policy rows housing publishes, and
the run checks that housing computed the same; housing stays the authority.

* 7,044 households approved 2019–2024 whose monthly payments add up to 34.47 million yuan (3447万元);
* 2024: 34 operator-subsidy projects, 6,622 units with 380,440 ㎡ (380.44万元 at the 2024 rate).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from shared.cixi.towns import TOWNS

SEED = 20250610
HOUSEHOLDS_BY_YEAR = {2019: 620, 2020: 880, 2021: 1090, 2022: 1260, 2023: 1480, 2024: 1714}  # 7,044 [seed]
SUBSIDY_TOTAL_FEN = 3_447_000_000  # 3447万元, 2019–2024 [seed]
LAST_PERIOD = "2024-12"
PROJECTS = 34  # 2024 [seed]
UNITS = 6_622  # 2024, "about" [seed]
OPERATOR_AREA_CENTI_M2 = 38_044_000  # 380,440.00 ㎡: 380.44万元 at 10 yuan/㎡ [seed amount]
OCCUPANCY = 0.85  # above the policy's 80 % so every project qualifies
HOUSEHOLD_SIZES = {1: 0.15, 2: 0.25, 3: 0.30, 4: 0.18, 5: 0.12}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
HOME_AREAS = ("341203", "510521", "522401", "430524", "412826", "362330", "340823", "513030")
TENANT_HOME_AREAS = ("330282", "330281", "421127", "411522")  # disjoint from the households': no shared ID


@dataclass
class Household:
    index: int
    id_number: str
    name: str
    phone: str
    town: str
    category: str
    household_size: int
    decided_on: date
    months: int  # periods paid through LAST_PERIOD
    cap_fen: int = 0  # the policy amount before the rent cap
    monthly_fen: int = 0  # what housing will pay: min(cap, rent)
    rent_fen: int = 0

    def application(self) -> dict:
        return {
            "id_number": self.id_number,
            "name": self.name,
            "phone": self.phone,
            "town": self.town,
            "category": self.category,
            "household_size": self.household_size,
            "monthly_rent_yuan": f"{self.rent_fen / 100:.2f}",
            "has_residence_permit": True,
            "owns_home_in_cixi": False,
            "employed_in_cixi": True,
        }


@dataclass
class Project:
    index: int
    name: str
    operator: str
    town: str
    units: list[dict] = field(default_factory=list)  # unit_no, area_m2, monthly_rent_yuan, market_rent_yuan
    let: int = 0


def id_number(rng: random.Random, birth: date, areas=HOME_AREAS) -> str:
    body = f"{rng.choice(areas)}{birth:%Y%m%d}{rng.randint(100, 999):03d}"
    return body + "10X98765432"[sum(int(a) * w for a, w in zip(body, WEIGHTS, strict=True)) % 11]


def person(rng: random.Random, born_after: int, born_before: int, areas=HOME_AREAS) -> tuple[str, str, str]:
    birth = date(rng.randint(born_after, born_before), 1, 1) + timedelta(days=rng.randint(0, 364))
    return (
        id_number(rng, birth, areas),
        rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2))),
        f"1{rng.choice('3578')}{rng.randint(0, 9)}{rng.randint(10**7, 10**8 - 1)}",
    )


def months_paid(decided_on: date, term_months: int) -> int:
    remaining = (2024 - decided_on.year) * 12 + (12 - decided_on.month) + 1
    return min(term_months, remaining)


def policy_on(policies: list[dict], on: date) -> dict:
    in_force = [p for p in policies if date.fromisoformat(p["effective_from"]) <= on]
    return max(in_force, key=lambda p: p["effective_from"])["rules"]


def cap_fen(rules: dict, category: str, size: int) -> int:
    area = rules["guaranteed_area_m2"][str(size)]
    return math.floor(rules["standard_fen_per_m2"] * area * rules["tier_coefficient_permille"][category] / 1000)


@dataclass(frozen=True)
class Scale:
    """The part of the seed's housing history a run builds: 1 is all of it (`make demo`); a slice (the
    end-to-end test) keeps every year and every kind of step with fewer households, projects and units."""

    share: float = 1.0

    def households(self) -> dict[int, int]:
        return {year: max(1, round(n * self.share)) for year, n in HOUSEHOLDS_BY_YEAR.items()}

    @property
    def subsidy_total_fen(self) -> int:
        return round(SUBSIDY_TOTAL_FEN * self.share)

    @property
    def projects(self) -> int:
        return max(1, round(PROJECTS * self.share))

    @property
    def units(self) -> int:
        return max(self.projects * 120, round(UNITS * self.share))

    @property
    def area_centi_m2(self) -> int:
        return OPERATOR_AREA_CENTI_M2 if self.share == 1 else self.units * 5_000  # 50 ㎡ a unit on average

    @property
    def operator_subsidy_fen(self) -> int:
        return self.area_centi_m2 * 10  # 10 yuan a ㎡ a year (the 2024 row): 10 fen a centi-㎡


FULL = Scale()


def households(policies: list[dict], scale: Scale = FULL) -> list[Household]:
    rng = random.Random(SEED)
    planned: list[Household] = []
    sizes, size_weights = list(HOUSEHOLD_SIZES), list(HOUSEHOLD_SIZES.values())
    for year, count in scale.households().items():
        for _ in range(count):
            decided_on = date(year, 1, 1) + timedelta(days=rng.randint(0, 364))
            rules = policy_on(policies, decided_on)
            category = rng.choice(rules["eligible_categories"])
            size = rng.choices(sizes, size_weights)[0]
            identity, name, phone = person(rng, 1972, year - 20)
            planned.append(
                Household(
                    index=len(planned),
                    id_number=identity,
                    name=name,
                    phone=phone,
                    town=rng.choice(TOWNS).name,
                    category=category,
                    household_size=size,
                    decided_on=decided_on,
                    months=months_paid(decided_on, int(rules["term_months"])),
                    cap_fen=cap_fen(rules, category, size),
                )
            )
    planned.sort(key=lambda h: (h.decided_on, h.index))
    _set_amounts(planned, rng, scale.subsidy_total_fen)
    return planned


def _set_amounts(planned: list[Household], rng: random.Random, total_fen: int) -> None:
    """Two households in three rent above the policy amount and get it whole; the third pays a low rent
    (a shared dormitory room) and gets the rent, chosen so the six years add up to the seed's total."""
    full = [h for h in planned if h.index % 3]
    low = [h for h in planned if not h.index % 3]
    for h in full:
        h.monthly_fen = h.cap_fen
        h.rent_fen = h.cap_fen + rng.randint(20, 120) * 1000
    needed = total_fen - sum(h.monthly_fen * h.months for h in full)
    ratio = needed / sum(h.cap_fen * h.months for h in low)
    if not 0.2 < ratio < 1:
        raise ValueError(f"the household mix cannot reach the seed's total (low-rent ratio {ratio:.2f})")
    for h in low:
        h.monthly_fen = max(100, math.floor(h.cap_fen * ratio / 100) * 100)  # whole yuan
    short = needed - sum(h.monthly_fen * h.months for h in low)
    for h in sorted(low, key=lambda h: -h.months):  # top up in whole yuan, longest terms first
        step = min(short // (h.months * 100), (h.cap_fen - h.monthly_fen) // 100)
        h.monthly_fen += step * 100
        short -= step * 100 * h.months
    for h in (h for h in low if h.months == 1):  # the last fen on a one-month household
        step = min(short, h.cap_fen - h.monthly_fen)
        h.monthly_fen += step
        short -= step
    if short:
        raise ValueError(f"could not place the last {short} fen")
    for h in low:
        h.rent_fen = h.monthly_fen


def projects(scale: Scale = FULL) -> list[Project]:
    rng = random.Random(SEED + 1)
    counts = _split(scale.units, scale.projects, rng, low=120, high=280)
    planned, areas = [], _areas(scale.units, scale.area_centi_m2, rng)
    cursor = 0
    operators = ("慈溪城投保租房运营公司", "宁波安居集团慈溪分公司", "慈溪市产业园区公寓管理公司", "民营企业员工宿舍")
    for index, count in enumerate(counts):
        town = TOWNS[index % len(TOWNS)].name
        project = Project(
            index=index, name=f"慈溪保租房示范项目{index + 1:02d}号", operator=operators[index % 4], town=town
        )
        for number in range(count):
            centi = areas[cursor]
            cursor += 1
            market = round(centi / 100 * 24)
            project.units.append(
                {
                    "unit_no": f"{number // 20 + 1}-{number % 20 + 101}",
                    "area_m2": f"{centi / 100:.2f}",
                    "monthly_rent_yuan": round(market * 0.85),
                    "market_rent_yuan": market,
                }
            )
        project.let = math.ceil(count * OCCUPANCY)
        planned.append(project)
    return planned


def tenants(count: int) -> list[dict]:
    rng = random.Random(SEED + 2)
    people = []
    for _ in range(count):
        identity, name, phone = person(rng, 1970, 2004, TENANT_HOME_AREAS)
        people.append(
            {
                "id_number": identity,
                "name": name,
                "phone": phone,
                "town": rng.choice(TOWNS).name,
                "household_size": rng.choices(list(HOUSEHOLD_SIZES), list(HOUSEHOLD_SIZES.values()))[0],
                "is_local_hukou": False,
                "has_residence_permit": True,
                "owns_home_in_cixi": False,
                "employed_in_cixi": True,
            }
        )
    return people


def _split(total: int, parts: int, rng: random.Random, low: int, high: int) -> list[int]:
    counts = [rng.randint(low, high) for _ in range(parts)]
    scale = total / sum(counts)
    counts = [max(low, min(high, round(c * scale))) for c in counts]
    i = 0
    while sum(counts) != total:
        step = 1 if sum(counts) < total else -1
        if low <= counts[i % parts] + step <= high:
            counts[i % parts] += step
        i += 1
    return counts


def _areas(units: int, total_centi: int, rng: random.Random) -> list[int]:
    """Unit areas in centi-㎡, each 30–70 ㎡, adding up to exactly `total_centi`."""
    areas = [rng.randint(4_000, 7_000) for _ in range(units)]
    difference = total_centi - sum(areas)
    i = 0
    while difference:
        step = max(-500, min(500, difference))
        new = areas[i % units] + step
        if 3_000 <= new <= 7_000:
            areas[i % units] = new
            difference -= step
        i += 1
    return areas

"""The Center's figures (seed §1–§4) as the stats report must print them, and a check of a report against
them: one line per figure, the words the report says it in and the figure the seed gives. A figure the
seed writes as "1.6万余" is a range (16,000–16,999); the housing history of a slice (`plan.Scale`) is
checked against the slice's own totals, everything else against the seed's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ops.demo import counted
from ops.demo.counted import Range
from ops.demo.plan import Scale
from services.stats.figures import wan_yuan


@dataclass(frozen=True)
class Figure:
    section: str
    seed: str  # the seed's words
    pattern: str  # the report's sentence, `(\d+)` where the figure is
    expected: Range | None = None  # None: the sentence itself is the figure

    def check(self, text: str) -> tuple[bool, str]:
        found = re.search(self.pattern, text)
        if found is None:
            return False, "not in the report"
        if self.expected is None:
            return True, found.group(0)
        n = int(found.group(1))
        return self.expected.holds(n), found.group(0)


def exact(n: int) -> Range:
    return Range(n, n)


def figures(scale: Scale) -> list[Figure]:
    households = sum(scale.households().values())
    subsidy = wan_yuan(scale.subsidy_total_fen)
    operator = wan_yuan(scale.operator_subsidy_fen)
    return [
        Figure(
            "§1",
            "累计筹建保障性租赁住房房源48888套（间）",
            r"全市已累计筹建保障性租赁住房房源(\d+)套（间）",
            exact(48_888),
        ),
        Figure("§1", "2025年预计新增筹建3800套（间）", r"2025年预计新增筹建(\d+)套（间）", exact(3_800)),
        Figure(
            "§1",
            "2024年，共计对34个项目约6622套保租房发放运营奖补380.44万元",
            rf"2024年，共计对{scale.projects}个项目{scale.units}套保租房发放运营奖补{re.escape(operator)}万元",
        ),
        Figure(
            "§1",
            "2025年，预计对近50个项目约9000套保租房发放运营奖补1000万元",
            r"2025年，预计对近50个项目约9000套保租房发放运营奖补1000万元",
        ),
        Figure(
            "§1",
            "2019年至2024年，我市累计保障外来务工人员家庭7044户，发放公租房租金补贴3447万元",
            rf"2019年至2024年，累计保障外来务工人员家庭{households}户，发放公租房租金补贴{re.escape(subsidy)}万元",
        ),
        Figure(
            "§3",
            "一个市级图书馆和一个少年儿童图书馆 … 17个镇街道图书馆分馆和15个城市书房（其中4个与镇街道图书馆合并）",
            r"全市有1个市级图书馆和1个少年儿童图书馆，另有17个镇街道图书馆分馆和15个城市书房（其中4个与镇街道图书馆合并）",
        ),
        Figure("§4", "2024年…开展第八个市民幸福体验日活动", r"2024年，开展第(\d+)个市民幸福体验日活动", exact(8)),
        Figure("§4", "“我在慈溪”公众号累计关注人数112041人", r"“我在慈溪”公众号累计关注人数(\d+)人", exact(112_041)),
        Figure(
            "§4",
            "全年推送各类文稿125篇",
            r"2024年，“我在慈溪”公众号全年推送各类文稿(\d+)篇",
            exact(counted.POSTS_2024),
        ),
        Figure(
            "§4",
            "编印2万份新市民来慈指南，免费向新市民分发，并在“我在慈溪”微信公众号发布",
            r"2025年，编印20000份新市民来慈指南，免费向新市民分发20000份，并在“我在慈溪”微信公众号发布",
        ),
        Figure(
            "§4",
            "暑期假日学校、夏令营、研学、观影等活动320次",
            r"2024年，各地共组织开展暑期假日学校、夏令营、研学、观影等活动(\d+)次",
            exact(320),
        ),
        Figure("§4", "参加的“小候鸟”1.6万余人次", r"观影等活动\d+次，参加的“小候鸟”(\d+)人次", counted.SUMMER_CHILDREN),
        Figure(
            "§4", "共培训“小候鸟”300人", r"2024年，开展“小候鸟”防溺水专项宣讲\d+场，共培训“小候鸟”(\d+)人", exact(300)
        ),
        Figure("§4", "开展慰问走访6次", r"2024年，对“小候鸟”开展慰问走访(\d+)次", exact(6)),
        Figure("§4", "慰问小候鸟360人", r"慰问小候鸟(\d+)人", exact(360)),
        Figure("§4", "发放慰问品360份", r"发放慰问品(\d+)份", exact(360)),
        Figure("§4", "8个镇（街道）…志愿服务团队", r"2024年，(\d+)个志愿服务团队开展各类志愿服务", exact(8)),
        Figure(
            "§4",
            "累计服务新老市民1800余人次",
            r"志愿服务团队开展各类志愿服务，累计服务新老市民(\d+)人次",
            counted.VOLUNTEER_SERVED,
        ),
        Figure(
            "§4",
            "“4.20和谐促进服务日”…各类活动32场",
            r"2025年，“4.20和谐促进服务日”系列活动共开展各类活动(\d+)场",
            exact(32),
        ),
        Figure(
            "§4",
            "累计服务新老市民1.1万人次",
            r"系列活动共开展各类活动\d+场，累计服务新老市民(\d+)人次",
            counted.HARMONY_HEADCOUNT,
        ),
    ]


def check(text: str, scale: Scale) -> list[tuple[Figure, bool, str]]:
    """Each figure with whether the report's text matches it and what the report says."""
    return [(figure, *figure.check(text)) for figure in figures(scale)]


def mismatches(text: str, scale: Scale) -> list[str]:
    return [f"{figure.section} {figure.seed}: {found}" for figure, ok, found in check(text, scale) if not ok]

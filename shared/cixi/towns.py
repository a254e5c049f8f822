"""Cixi's 20 divisions (6 subdistricts, 14 towns) with statistical codes, and old names still seen in addresses.

Reference data several services validate against; a division created or renamed is one edit here.
"""

from __future__ import annotations

from dataclasses import dataclass

CIXI_AREA_CODE = "330282"


@dataclass(frozen=True)
class Town:
    name: str
    code: str | None  # 陆中湾街道 (2024-11, split from 庵东镇) has no statistical code yet
    kind: str  # "subdistrict" | "town"


TOWNS: tuple[Town, ...] = (
    Town("宗汉街道", "330282002", "subdistrict"),
    Town("坎墩街道", "330282003", "subdistrict"),
    Town("浒山街道", "330282004", "subdistrict"),
    Town("白沙路街道", "330282005", "subdistrict"),
    Town("古塘街道", "330282006", "subdistrict"),
    Town("陆中湾街道", None, "subdistrict"),
    Town("掌起镇", "330282104", "town"),
    Town("观海卫镇", "330282107", "town"),
    Town("附海镇", "330282108", "town"),
    Town("桥头镇", "330282109", "town"),
    Town("匡堰镇", "330282110", "town"),
    Town("逍林镇", "330282111", "town"),
    Town("新浦镇", "330282112", "town"),
    Town("胜山镇", "330282113", "town"),
    Town("横河镇", "330282114", "town"),
    Town("崇寿镇", "330282116", "town"),
    Town("庵东镇", "330282118", "town"),
    Town("长河镇", "330282120", "town"),
    Town("周巷镇", "330282121", "town"),
    Town("龙山镇", "330282123", "town"),
)

OLD_NAMES = {
    "天元": "周巷镇",
    "三北": "龙山镇",
    "范市": "龙山镇",
    "观城": "观海卫镇",
    "师桥": "观海卫镇",
    "鸣鹤": "观海卫镇",
}

_BY_NAME = {town.name: town for town in TOWNS}
_BY_CODE = {town.code: town for town in TOWNS if town.code}
_BY_SHORT = {town.name.removesuffix("街道").removesuffix("镇"): town for town in TOWNS}


def resolve_town(value: str) -> Town | None:
    """A division by full name, short name, statistical code (9 digits or the 3-digit suffix) or old name."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text in _BY_NAME:
        return _BY_NAME[text]
    if text in _BY_CODE:
        return _BY_CODE[text]
    if len(text) == 3 and text.isdigit() and CIXI_AREA_CODE + text in _BY_CODE:
        return _BY_CODE[CIXI_AREA_CODE + text]
    if text in _BY_SHORT:
        return _BY_SHORT[text]
    old = OLD_NAMES.get(text.removesuffix("镇").removesuffix("街道"))
    return _BY_NAME[old] if old else None


def town_names() -> list[str]:
    return [town.name for town in TOWNS]

"""Whether an OSV advisory (https://ossf.github.io/osv-schema/) affects one PyPI `name==version`.

A version is affected when it is listed in an `affected[].versions` list, or falls in an `ECOSYSTEM` range:
the range's events are walked in version order, `introduced` opens it (`"0"` is before every version),
`fixed` closes it at that version (the fixed version is clean), `last_affected` closes it after that version
(the last affected version is still affected). Versions compare as `packaging.version` does, so `1.10` is
after `1.9` and `2.0rc1` before `2.0`. `GIT` ranges carry commits, not versions: the `versions` list that
comes with them is what counts. A withdrawn advisory affects nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

Advisory = Mapping[str, Any]


@dataclass(frozen=True)
class Finding:
    id: str
    package: str
    version: str
    fixed_in: tuple[str, ...]
    aliases: tuple[str, ...] = ()


def _version(text: object) -> Version | None:
    try:
        return Version(str(text))
    except InvalidVersion:
        return None


def _in_range(events: Iterable[Mapping[str, Any]], version: Version) -> bool:
    def order(event: Mapping[str, Any]) -> tuple[int, Version]:
        kind, value = next(iter(event.items()))
        if kind == "introduced" and str(value) == "0":
            return (0, Version("0"))
        return (1, _version(value) or Version("0"))

    affected = False
    for event in sorted((e for e in events if _event_version_valid(e)), key=order):
        kind, value = next(iter(event.items()))
        bound = Version("0") if str(value) == "0" else Version(str(value))
        if kind == "introduced" and version >= bound:
            affected = True
        elif kind == "fixed" and version >= bound:
            affected = False
        elif kind == "last_affected" and version > bound:
            affected = False
    return affected


def _event_version_valid(event: Mapping[str, Any]) -> bool:
    kind, value = next(iter(event.items()))
    return kind in ("introduced", "fixed", "last_affected") and (str(value) == "0" or _version(value) is not None)


def _entries(advisory: Advisory, name: str) -> list[Mapping[str, Any]]:
    wanted = canonicalize_name(name)
    return [
        entry
        for entry in advisory.get("affected") or []
        if (entry.get("package") or {}).get("ecosystem") == "PyPI"
        and canonicalize_name((entry.get("package") or {}).get("name", "")) == wanted
    ]


def affects(advisory: Advisory, name: str, version: str) -> bool:
    if advisory.get("withdrawn"):
        return False
    pinned = Version(version)
    for entry in _entries(advisory, name):
        if any(_version(listed) == pinned for listed in entry.get("versions") or []):
            return True
        for rng in entry.get("ranges") or []:
            if rng.get("type") == "ECOSYSTEM" and _in_range(rng.get("events") or [], pinned):
                return True
    return False


def fixed_in(advisory: Advisory, name: str) -> tuple[str, ...]:
    return tuple(
        sorted(
            {
                str(event["fixed"])
                for entry in _entries(advisory, name)
                for rng in entry.get("ranges") or []
                if rng.get("type") == "ECOSYSTEM"
                for event in rng.get("events") or []
                if "fixed" in event
            },
            key=lambda v: _version(v) or Version("0"),
        )
    )


def findings(advisories: Iterable[Advisory], pins: Mapping[str, str]) -> list[Finding]:
    """Every (advisory, pin) where the advisory affects the pinned version; `pins` maps name to version."""
    found = []
    for advisory in advisories:
        for name, version in pins.items():
            if affects(advisory, name, version):
                found.append(
                    Finding(
                        id=str(advisory["id"]),
                        package=canonicalize_name(name),
                        version=version,
                        fixed_in=fixed_in(advisory, name),
                        aliases=tuple(advisory.get("aliases") or ()),
                    )
                )
    return sorted(found, key=lambda f: (f.package, f.id))

"""The one registry of staff identities, kept beside the token issuer (`STAFF_REGISTRY`, a JSON file).

Each entry is one person: a stable staff id, the login names that person may ask for a token under, and the
roles they may hold. The issuer signs a staff token only for a registered name, only with granted roles, and
always with the entry's staff id as subject, so every name of one person yields one subject and maker-checker
(which compares subjects) sees one person. No name belongs to two entries.

Every change is appended to `<registry>.audit.jsonl` (who, when, what) by the admin command
`python -m shared.platform.auth staff grant|revoke|list`; outside production, `issue --sub S --roles R` enters S
itself (staff id = name = S) with those roles, so local scripts work with any subject.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from shared.platform.config import REPO_ROOT

DEFAULT_PATH = "var/staff.json"
# a token with only these roles names a resident (their resident_id), not a member of staff
NON_STAFF_ROLES = frozenset({"resident"})


class StaffRegistryError(ValueError):
    """A registry refusal: an unknown name, roles beyond the grant, a name already another person's."""


@dataclass(frozen=True)
class StaffEntry:
    staff_id: str
    names: frozenset[str]
    roles: frozenset[str]


def registry_path(config: dict) -> Path:
    path = Path(str(config.get("STAFF_REGISTRY") or DEFAULT_PATH))
    return path if path.is_absolute() else REPO_ROOT / path


def needs_registry(roles: Iterable[str]) -> bool:
    return bool(set(roles) - NON_STAFF_ROLES)


class StaffRegistry:
    def __init__(self, path: Path):
        self.path = path
        self.audit_path = path.with_name(path.stem + ".audit.jsonl")

    def entries(self) -> dict[str, StaffEntry]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return {
            staff_id: StaffEntry(staff_id, frozenset(entry["names"]), frozenset(entry["roles"]))
            for staff_id, entry in data.get("staff", {}).items()
        }

    def find(self, name: str) -> StaffEntry | None:
        for entry in self.entries().values():
            if name == entry.staff_id or name in entry.names:
                return entry
        return None

    def resolve(self, name: str, roles: Iterable[str]) -> StaffEntry:
        """The entry `name` belongs to, if it may hold `roles`; refused otherwise (naming no other person)."""
        entry = self.find(name)
        if entry is None:
            raise StaffRegistryError(f"{name!r} is not in the staff registry")
        excess = set(roles) - entry.roles
        if excess:
            raise StaffRegistryError(f"{name!r} is not granted the roles: {', '.join(sorted(excess))}")
        return entry

    def grant(self, staff_id: str, roles: Iterable[str], names: Iterable[str] = (), *, by: str) -> StaffEntry:
        """Set the roles of `staff_id` (created if new) and add login names to it."""
        with self._locked() as entries:
            current = entries.get(staff_id)
            wanted = {staff_id, *names} | (set(current.names) if current else set())
            for other in entries.values():
                if other.staff_id != staff_id and wanted & (other.names | {other.staff_id}):
                    raise StaffRegistryError("a name given is already another staff identity's")
            entry = StaffEntry(staff_id, frozenset(wanted), frozenset(roles))
            entries[staff_id] = entry
            self._audit("grant", entry, by)
            return entry

    def remove(self, staff_id: str, *, by: str) -> None:
        with self._locked() as entries:
            entry = entries.pop(staff_id, None)
            if entry is None:
                raise StaffRegistryError(f"{staff_id!r} is not in the staff registry")
            self._audit("revoke", entry, by)

    def enrol(self, name: str, roles: Iterable[str]) -> None:
        """Outside production only: make `name` a staff identity holding at least `roles`."""
        entry = self.find(name)
        if entry is None:
            self.grant(name, roles, by="dev:issue")
        elif not set(roles) <= entry.roles:
            self.grant(entry.staff_id, entry.roles | set(roles), by="dev:issue")

    @contextmanager
    def _locked(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = self.entries()
            yield entries
            document = {
                "staff": {
                    entry.staff_id: {"names": sorted(entry.names), "roles": sorted(entry.roles)}
                    for entry in entries.values()
                }
            }
            temporary = self.path.with_name(self.path.name + ".tmp")
            temporary.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            os.replace(temporary, self.path)

    def _audit(self, action: str, entry: StaffEntry, by: str) -> None:
        record = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "by": by,
            "action": action,
            "staff_id": entry.staff_id,
            "names": sorted(entry.names),
            "roles": sorted(entry.roles),
        }
        with open(self.audit_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")

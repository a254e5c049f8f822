"""The yearly policy book: every rate, bound and amount the rules use, read from `policy_values`.

`policy_values` is a table of the shared policy store (shared/platform/policy_store.py). Insurance's figures are yearly:
each row's `effective_from` is 1 January of the year it is first in force, and the book is asked by year. A
figure is valid from its year until a later row for the same name supersedes it, so a new year's average wage
is one row added by a migration and nothing in the code changes. The rules read one book per call, loaded
at once, so that every figure an answer cites comes from the same reading.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from services.insurance.exceptions import PolicyMissing
from services.insurance.models import PolicyValue
from shared.platform.policy_store import PolicyStore

STORE = PolicyStore(PolicyValue, parse_float=Decimal)  # rates stay exact: money is computed from them


@dataclass(frozen=True)
class Figure:
    name: str
    effective_year: int
    value: Decimal
    unit: str
    policy_ref: str

    @property
    def as_int(self) -> int:
        return int(self.value)

    def cite(self) -> str:
        return f"{self.name}={self.value.normalize():f} {self.unit} (from {self.effective_year}: {self.policy_ref})"


class PolicyBook:
    def __init__(self, figures: Iterable[Figure]):
        self._by_name: dict[str, list[Figure]] = {}
        for figure in figures:
            self._by_name.setdefault(figure.name, []).append(figure)
        for versions in self._by_name.values():
            versions.sort(key=lambda f: f.effective_year)

    def figure(self, name: str, year: int) -> Figure:
        """The figure in force in `year`: the latest row whose effective year is not after it."""
        current = None
        for figure in self._by_name.get(name, ()):
            if figure.effective_year <= year:
                current = figure
        if current is None:
            raise PolicyMissing(f"no policy figure {name!r} in force in {year}")
        return current

    def first(self, name: str) -> Figure:
        """The earliest row for `name`, whatever the year."""
        versions = self._by_name.get(name)
        if not versions:
            raise PolicyMissing(f"no policy figure {name!r}")
        return versions[0]

    def value(self, name: str, year: int) -> Decimal:
        return self.figure(name, year).value

    def integer(self, name: str, year: int) -> int:
        return self.figure(name, year).as_int

    def table(self) -> list[dict]:
        return [
            {
                "name": f.name,
                "effective_year": f.effective_year,
                "value": f"{f.value.normalize():f}",
                "unit": f.unit,
                "policy_ref": f.policy_ref,
            }
            for name in sorted(self._by_name)
            for f in self._by_name[name]
        ]


def load_book(session: Session) -> PolicyBook:
    return PolicyBook(
        Figure(entry.name, entry.effective_from.year, Decimal(entry.value), entry.unit, entry.policy_ref)
        for entry in STORE.listing(session)
    )

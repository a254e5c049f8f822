"""Synthetic residents with valid GB 11643 ID numbers and mainland mobiles (never real people)."""

import random
from datetime import date, timedelta

from shared.platform.personal_data import PiiKeys, normalise_id_number, resident_id

SUITE_PII_KEYS = PiiKeys.from_config("test-hmac-key", "test-encryption-key")  # as tests/conftest.py configures
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(birth: str | None = None, area: str = "330282", rng: random.Random | None = None) -> str:
    """A random adult's number unless `birth` (YYYYMMDD) is given: about 10 million distinct values."""
    rng = rng or random
    if birth is None:
        birth = (date(1965, 1, 1) + timedelta(days=rng.randint(0, 35 * 365))).strftime("%Y%m%d")
    body = f"{area}{birth}{rng.randint(100, 999):03d}"
    return body + "10X98765432"[sum(int(a) * w for a, w in zip(body, WEIGHTS, strict=True)) % 11]


def subject_of(number: str) -> str:
    """A resident's token subject in the suite: their resident_id under the suite's PII keys."""
    return resident_id(normalise_id_number(number), SUITE_PII_KEYS)


def phone(rng: random.Random | None = None) -> str:
    rng = rng or random
    return "139" + str(rng.randint(10**7, 10**8 - 1))


def application(**overrides) -> dict:
    values = {
        "id_number": id_number(),
        "name": "王五",
        "phone": phone(),
        "town": "观海卫镇",
        "category": "talent",
        "household_size": 3,
        "monthly_rent_yuan": 1800,
        "has_residence_permit": True,
        "owns_home_in_cixi": False,
    }
    values.update(overrides)
    return values


def distinct_applications(count: int, used: set[str]) -> list[dict]:
    """Applications of people whose ID numbers are not in `used` (which records them): `application()` draws
    from ~10 million numbers, so a run of a few thousand repeats one about one time in five, and housing
    rightly refuses the repeat as a DuplicateApplication."""
    made = []
    while len(made) < count:
        form = application()
        if form["id_number"] not in used:
            used.add(form["id_number"])
            made.append(form)
    return made

"""Bad-input tables for the subsidy application: every bad field is named, good input normalised."""

from __future__ import annotations

import pytest

from services.housing.schemas import SubsidyApplicationSchema
from shared.platform.errors import ValidationError
from shared.platform.validation import load
from tests.services.housing.conftest import subsidy_application


def errors_for(payload) -> dict:
    with pytest.raises(ValidationError) as raised:
        load(SubsidyApplicationSchema(), payload, field="application")
    return raised.value.errors


def test_the_black_box_application_loads():
    data = load(SubsidyApplicationSchema(), subsidy_application(town="330282107", phone="+86 138-1234-5678"))
    assert data["town"] == "观海卫镇" and data["phone"] == "13812345678"
    assert data["monthly_rent_fen"] == 180000 and data["employed_in_cixi"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id_number", "330282199001011230"),  # bad checksum
        ("id_number", "330282199002301231"),  # 30 February
        ("id_number", "330282209901011234"),  # born in the future
        ("id_number", "33028219900101123"),  # 17 characters
        ("id_number", 330282199001011234),  # a number, not a string
        ("id_number", "3" * 5000),  # oversized
        ("phone", "12812345678"),
        ("phone", "1381234567"),
        ("phone", "1" * 300),
        ("town", "杭州市"),
        ("town", "330282999"),
        ("town", "镇" * 500),
        ("category", "tourist"),
        ("household_size", 0),
        ("household_size", 11),
        ("household_size", "3"),
        ("household_size", 2.5),
        ("monthly_rent_yuan", -1),
        ("monthly_rent_yuan", 0),
        ("monthly_rent_yuan", "abc"),
        ("monthly_rent_yuan", 1800.001),
        ("monthly_rent_yuan", True),
        ("monthly_rent_yuan", 10**9),
        ("has_residence_permit", "yes"),
        ("has_residence_permit", 1),
        ("owns_home_in_cixi", None),
        ("name", ""),
        ("name", "名" * 51),
        ("name", 42),
    ],
)
def test_bad_field_is_named(field, value):
    assert set(errors_for(subsidy_application(**{field: value}))) == {field}


@pytest.mark.parametrize(
    "missing",
    ["id_number", "name", "phone", "town", "category", "household_size", "monthly_rent_yuan", "has_residence_permit"],
)
def test_missing_field_is_named(missing):
    payload = subsidy_application()
    del payload[missing]
    assert set(errors_for(payload)) == {missing}


def test_every_bad_field_at_once_and_unknown_fields():
    payload = subsidy_application(id_number="x", phone="x", town="x", household_size=99, surname="李")
    assert set(errors_for(payload)) == {"id_number", "phone", "town", "household_size", "surname"}


@pytest.mark.parametrize("payload", [None, [], "application", 42])
def test_not_an_object(payload):
    assert set(errors_for(payload)) == {"application"}

"""The policy book covers the period the Center's document describes; a date before a scheme's first row is
refused with the date it begins (BeforeSchemeStart), not a missing-policy failure."""

from __future__ import annotations

from datetime import date

import pytest

from services.housing.exceptions import BeforeSchemeStart
from services.housing.policy import RENT_SUBSIDY, TENANCY, policy_in_force


@pytest.mark.parametrize(
    "programme, first_day",
    [
        (RENT_SUBSIDY, date(2019, 1, 1)),  # seed §1: 2019年我市出台《慈溪市公共租赁住房租赁补贴实施办法（暂行）》
        (TENANCY, date(2022, 1, 1)),  # seed §1: 2022年印发《慈溪市加快发展保障性租赁住房实施方案》
    ],
)
def test_the_first_day_of_a_scheme_is_answered_and_the_day_before_names_it(session, programme, first_day):
    assert policy_in_force(session, programme, first_day).effective_from == first_day
    before = date.fromordinal(first_day.toordinal() - 1)
    with pytest.raises(BeforeSchemeStart, match=f"begins on {first_day.isoformat()}") as caught:
        policy_in_force(session, programme, before)
    assert caught.value.starts_on == first_day.isoformat()

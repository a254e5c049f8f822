"""A name carrying invisible characters, or text past its bound, is refused over real RPC with every bad
field listed, nothing stored, and the input not repeated in the error (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from services.housing.models import SubsidyApplication
from shared.platform.errors import ValidationError
from shared.platform.models import OutboxMessage
from tests.services.housing.conftest import count_rows, subsidy_application


def test_a_name_that_reorders_itself_is_refused_and_nothing_is_stored(call, housing):
    spoofed = "张\u202e三\u200b"  # a right-to-left override and a zero-width space
    with pytest.raises(ValidationError) as refused:
        call("cw-1", "caseworker").submit_subsidy_application(
            subsidy_application(name=spoofed, town="观" * 5000, phone="1" * 5000)
        )
    assert set(refused.value.errors) == {"name", "town", "phone"}
    assert spoofed not in str(refused.value) and "观" * 30 not in str(refused.value)
    assert count_rows(housing, SubsidyApplication) == count_rows(housing, OutboxMessage) == 0


def test_an_over_long_review_note_is_refused(call):
    submitted = call("cw-1", "caseworker").submit_subsidy_application(subsidy_application())
    with pytest.raises(ValidationError) as refused:
        call("rv-1", "reviewer").review_subsidy_application(submitted["application_id"], "reject", "理" * 1001)
    assert set(refused.value.errors) == {"note"} and "理" * 30 not in str(refused.value)
    with pytest.raises(ValidationError):
        call("rv-1", "reviewer").review_subsidy_application(submitted["application_id"], "reject", "材料\u202e不全")

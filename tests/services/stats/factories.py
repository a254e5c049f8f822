"""Envelopes as housing publishes them, built and validated through `shared.platform.contracts.build_envelope`."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

from shared.platform.clock import SHANGHAI
from shared.platform.contracts import build_envelope, load_all, validate_envelope

load_all()

_numbers = itertools.count(1)


def resident(n: int) -> str:
    return f"resident-{n:08d}"


def _case(resident_id: str, town: str, category: str) -> dict:
    return {
        "application_id": f"app-{next(_numbers)}",
        "resident_id": resident_id,
        "town": town,
        "category": category,
    }


def submitted(resident_id: str, at: datetime, town: str = "观海卫镇", category: str = "talent") -> dict:
    data = _case(resident_id, town, category)
    data.update(household_size=3, status="submitted", reasons=[], submitted_at=at.isoformat())
    return build_envelope("housing", "subsidy_application_submitted", data)


def approved(
    resident_id: str,
    at: datetime,
    town: str = "观海卫镇",
    category: str = "talent",
    occurred_at: datetime | None = None,
) -> dict:
    data = _case(resident_id, town, category)
    data.update(household_size=3, monthly_subsidy_fen=60000, approved_at=at.isoformat(), policy_ref="CX-2019-1")
    return build_envelope("housing", "subsidy_approved", data, occurred_at=occurred_at)


def rejected(resident_id: str, at: datetime, town: str = "观海卫镇", category: str = "talent") -> dict:
    data = _case(resident_id, town, category)
    data.update(reasons=["owns_home_in_cixi"], rejected_at=at.isoformat())
    return build_envelope("housing", "subsidy_rejected", data)


def disbursed(resident_id: str, period: str, amount_fen: int, town: str = "观海卫镇", category: str = "talent") -> dict:
    data = _case(resident_id, town, category)
    data.update(
        disbursement_id=f"dis-{next(_numbers)}",
        period=period,
        amount_fen=amount_fen,
        disbursed_at=datetime(int(period[:4]), int(period[5:]), 20, 2, tzinfo=UTC).isoformat(),
    )
    return build_envelope("housing", "subsidy_disbursed", data)


def ended(resident_id: str, at: datetime, town: str = "观海卫镇", category: str = "talent") -> dict:
    data = _case(resident_id, town, category)
    data.update(reason="term_expired", ended_at=at.isoformat())
    return build_envelope("housing", "subsidy_ended", data)


def recertified(resident_id: str, at: datetime, town: str = "观海卫镇", category: str = "talent") -> dict:
    data = _case(resident_id, town, category)
    data.update(
        household_size=2,
        monthly_subsidy_fen=45000,
        previous_monthly_subsidy_fen=60000,
        end_period="2026-06",
        reviewed=False,
        policy_ref="CX-2024-1",
        recertified_at=at.isoformat(),
    )
    return build_envelope("housing", "subsidy_recertified", data)


def tenancy_started(resident_id: str, start: date, town: str = "宗汉街道") -> dict:
    data = {
        "tenancy_id": f"ten-{next(_numbers)}",
        "project_id": "proj-1",
        "unit_id": f"unit-{next(_numbers)}",
        "resident_id": resident_id,
        "town": town,
        "monthly_rent_fen": 120000,
        "start_date": start.isoformat(),
        "end_date": start.replace(year=start.year + 3).isoformat(),
    }
    return build_envelope("housing", "tenancy_started", data)


def operator_subsidy(project_id: str, year: int, units: int, amount_fen: int, town: str = "周巷镇") -> dict:
    data = {
        "assessment_id": f"asm-{next(_numbers)}",
        "project_id": project_id,
        "town": town,
        "year": year,
        "units": units,
        "amount_fen": amount_fen,
        "policy_ref": "CX-2023-OPS",
        "approved_at": datetime(year + 1, 1, 15, 2, tzinfo=UTC).isoformat(),
    }
    return build_envelope("housing", "operator_subsidy_approved", data)


def shanghai(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A Beijing wall-clock time as an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def history_of_three_households() -> list[dict]:
    """Three households over 2019-2024 in two towns; one approved twice (2019 and 2024); two operator subsidies."""
    a, b, c = resident(1), resident(2), resident(3)
    return [
        approved(a, shanghai(2019, 3, 1)),
        disbursed(a, "2019-04", 100_000),
        ended(a, shanghai(2021, 3, 1)),
        approved(a, shanghai(2024, 2, 1)),
        approved(b, shanghai(2024, 2, 2), town="周巷镇", category="frontline_worker"),
        disbursed(b, "2024-03", 250_000, town="周巷镇", category="frontline_worker"),
        rejected(c, shanghai(2024, 2, 3)),
        operator_subsidy("proj-1", 2024, 200, 2_000_000),
        operator_subsidy("proj-2", 2024, 100, 1_000_000, town="周巷镇"),
    ]


def loaded(envelope: dict) -> dict:
    """The envelope as a consumer receives it: validated, its data loaded by the contract (datetimes, dates)."""
    envelope, data = validate_envelope(envelope)
    envelope["data"] = data
    return envelope


def appeal(source: str, step: str, resident_id: str, at: datetime, case_type: str, town: str | None = None) -> dict:
    """`appeal_<step>` of housing or insurance, received (and for an outcome decided) at `at`."""
    data = {
        "appeal_id": f"appeal-{next(_numbers)}",
        "case_type": case_type,
        "case_id": f"case-{next(_numbers)}",
        "resident_id": resident_id,
        "guardian_resident_id": None,
        "town": town,
        "received_at": at.isoformat(),
        "due_on": at.date().isoformat(),
    }
    if step != "received":
        data.update(decided_at=at.isoformat(), reasons=["材料齐全"])
    return build_envelope(source, f"appeal_{step}", data)

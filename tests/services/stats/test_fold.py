"""The fold as a pure function: envelopes in, facts and figures out."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from services.stats.figures import headline, report_text, wan_yuan
from services.stats.fold import UNKNOWN, Figures, FoldError, facts_of, fold, year_of
from tests.services.stats import factories as f

SHANGHAI_NEW_YEAR = f.shanghai(2025, 1, 1, 0, 30)  # 2024-12-31 16:30 UTC


@pytest.mark.parametrize(
    ("value", "year"),
    [
        (SHANGHAI_NEW_YEAR, 2025),
        (SHANGHAI_NEW_YEAR - timedelta(hours=1), 2024),
        (SHANGHAI_NEW_YEAR.isoformat(), 2025),
        ("2024-12-31T16:30:00Z", 2025),
        (datetime(2024, 12, 31, 16, 30), 2025),  # naive: taken as UTC
        (datetime(2024, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=8))), 2024),
        (date(2019, 1, 1), 2019),
        ("2019-01-01", 2019),  # a calendar date is already local
        ("2024-12", 2024),  # a disbursement period
        (2024, 2024),
        ("2024", 2024),
    ],
)
def test_year_of_a_business_time_is_the_shanghai_year(value, year):
    assert year_of(value) == year


@pytest.mark.parametrize("value", ["soon", "", None, True, 20.5, "2024/12"])
def test_year_of_refuses_what_is_not_a_time(value):
    with pytest.raises(FoldError):
        year_of(value)


def totals(envelope) -> dict:
    return dict(facts_of(envelope).totals)


def members(envelope) -> set:
    return set(facts_of(envelope).members)


RID = f.resident(1)


@pytest.mark.parametrize(
    ("envelope", "expected_totals", "expected_members"),
    [
        (
            f.submitted(RID, f.shanghai(2023, 5, 1)),
            {(2023, "观海卫镇", "talent", "housing.subsidy_application_submitted"): 1},
            set(),
        ),
        (
            f.approved(RID, SHANGHAI_NEW_YEAR, town="观城", category="new_graduate"),
            {(2025, "观海卫镇", "new_graduate", "housing.subsidy_approved"): 1},
            {((2025, "观海卫镇", "new_graduate", "households"), RID)},
        ),
        (
            f.rejected(RID, f.shanghai(2022, 3, 3), town="330282121"),
            {(2022, "周巷镇", "talent", "housing.subsidy_rejected"): 1},
            set(),
        ),
        (
            f.disbursed(RID, "2020-12", 61234, category="frontline_worker"),
            {
                (2020, "观海卫镇", "frontline_worker", "housing.subsidy_disbursed"): 1,
                (2020, "观海卫镇", "frontline_worker", "subsidy_paid_fen"): 61234,
            },
            set(),
        ),
        (
            f.disbursed(RID, "2021-01", 0),
            {(2021, "观海卫镇", "talent", "housing.subsidy_disbursed"): 1},
            set(),
        ),
        (
            f.ended(RID, f.shanghai(2024, 6, 30)),
            {(2024, "观海卫镇", "talent", "housing.subsidy_ended"): 1},
            set(),
        ),
        (
            f.recertified(RID, f.shanghai(2026, 1, 1, 7)),
            {(2026, "观海卫镇", "talent", "housing.subsidy_recertified"): 1},
            set(),
        ),
        (
            f.tenancy_started(RID, date(2024, 1, 1), town="宗汉"),
            {(2024, "宗汉街道", UNKNOWN, "housing.tenancy_started"): 1},
            set(),
        ),
        (
            f.operator_subsidy("proj-9", 2024, 120, 7_200_000, town="天元"),
            {
                (2024, "周巷镇", UNKNOWN, "housing.operator_subsidy_approved"): 1,
                (2024, "周巷镇", UNKNOWN, "operator_subsidy_units"): 120,
                (2024, "周巷镇", UNKNOWN, "operator_subsidy_fen"): 7_200_000,
            },
            {((2024, "周巷镇", UNKNOWN, "operator_subsidy_projects"), "proj-9")},
        ),
    ],
    ids=[
        "submitted",
        "approved",
        "rejected",
        "disbursed",
        "disbursed-zero",
        "ended",
        "recertified",
        "tenancy",
        "operator",
    ],
)
def test_facts_of_each_housing_event(envelope, expected_totals, expected_members):
    assert totals(envelope) == expected_totals
    assert members(envelope) == expected_members


@pytest.mark.parametrize(
    "envelope",
    [
        f.submitted(RID, f.shanghai(2023, 5, 1)),
        f.approved(RID, SHANGHAI_NEW_YEAR),
        f.rejected(RID, f.shanghai(2022, 3, 3)),
        f.disbursed(RID, "2020-12", 61234),
        f.ended(RID, f.shanghai(2024, 6, 30)),
        f.recertified(RID, f.shanghai(2026, 1, 1, 7)),
        f.tenancy_started(RID, date(2024, 1, 1)),
        f.operator_subsidy("proj-9", 2024, 120, 7_200_000),
    ],
    ids=lambda envelope: envelope["event_type"],
)
def test_a_loaded_envelope_and_its_stored_json_give_the_same_facts(envelope):
    assert facts_of(f.loaded(envelope)) == facts_of(envelope)  # datetimes and dates vs. ISO strings


def test_the_year_comes_from_the_business_time_not_occurred_at():
    back_dated = f.approved(RID, f.shanghai(2019, 7, 1), occurred_at=datetime(2026, 11, 27, tzinfo=UTC))
    assert {key[0] for key in totals(back_dated)} == {2019}


def test_a_kind_without_a_rule_is_counted_by_occurred_at_town_and_category():
    envelope = {
        "source": "insurance",
        "event_type": "enrolment_rejected",
        "occurred_at": "2024-07-10T02:00:00+00:00",
        "data": {"town": "横河", "category": "medical", "enrolment_id": "e1"},
    }
    assert totals(envelope) == {(2024, "横河镇", "medical", "insurance.enrolment_rejected"): 1}
    assert members(envelope) == set()


def test_an_activity_fact_belongs_to_the_year_and_kind_of_the_activity_not_to_when_it_was_published():
    envelope = {
        "source": "events",
        "event_type": "registration_confirmed",
        "occurred_at": "2026-01-03T02:00:00+00:00",  # replayed or generated later
        "data": {"town": "横河", "kind": "summer_class", "starts_at": "2024-07-08T01:00:00+00:00"},
    }
    assert totals(envelope) == {(2024, "横河镇", "summer_class", "events.registration_confirmed"): 1}


@pytest.mark.parametrize(
    ("envelope", "expected"),
    [
        (
            {
                "source": "events",
                "event_type": "attendance_recorded",
                "occurred_at": "2024-07-10T02:00:00+00:00",
                "data": {"day": "2024-07-09", "kind": "summer_class", "town": "桥头镇", "participations": 1},
            },
            {
                (2024, "桥头镇", "summer_class", "events.attendance_recorded"): 1,
                (2024, "桥头镇", "summer_class", "participations"): 1,
            },
        ),
        (
            {
                "source": "events",
                "event_type": "attendance_recorded",
                "occurred_at": "2025-01-01T02:00:00+00:00",
                "data": {"day": "2024-12-31", "kind": "lecture", "participations": 0, "action": "check_out"},
            },
            {(2024, UNKNOWN, "lecture", "events.attendance_recorded"): 1},  # a check-out adds no 人次
        ),
        (
            {
                "source": "notify",
                "event_type": "notification_delivered",
                "occurred_at": "2024-01-01T02:00:00+00:00",
                "data": {"delivered_at": "2023-12-31T15:00:00+00:00", "channel": "sms"},
            },
            {(2023, UNKNOWN, "sms", "notify.notification_delivered"): 1},
        ),
        (
            {
                "source": "insurance",
                "event_type": "enrolment_activated",
                "occurred_at": "2024-03-01T02:00:00+00:00",
                "data": {"scheme": "pension", "town": "新浦镇"},
            },
            {(2024, "新浦镇", "pension", "insurance.enrolment_activated"): 1},
        ),
    ],
    ids=["check-in", "check-out", "notification", "enrolment"],
)
def test_rules_of_the_other_services_events(envelope, expected):
    assert totals(envelope) == expected


@pytest.mark.parametrize(
    "data",
    [
        {"period": "2024-01", "town": "观海卫镇"},  # no amount_fen
        {"period": "2024-01", "amount_fen": "100"},  # not an integer
        {"period": "2024-01", "amount_fen": True},
    ],
)
def test_an_envelope_missing_what_its_rule_needs_is_a_fold_error(data):
    envelope = {"source": "housing", "event_type": "subsidy_disbursed", "occurred_at": "2024-01-01", "data": data}
    with pytest.raises(FoldError):
        facts_of(envelope)


def test_an_approval_without_a_resident_is_a_fold_error():
    envelope = {
        "source": "housing",
        "event_type": "subsidy_approved",
        "occurred_at": "2024-01-01T00:00:00+00:00",
        "data": {"approved_at": "2024-01-01T00:00:00+00:00"},
    }
    with pytest.raises(FoldError, match="resident_id"):
        facts_of(envelope)


def test_fold_counts_distinct_households_over_a_range_and_per_year():
    figures = fold(f.history_of_three_households())
    overall = headline(figures.sums(), figures.distinct())
    assert overall["subsidy_approvals"] == 3
    assert overall["households"] == 2  # resident 1 approved twice counts once
    assert overall["subsidy_rejections"] == 1
    assert overall["subsidy_paid_fen"] == 350_000
    assert overall["operator_subsidy"] == {"projects": 2, "units": 300, "amount_fen": 3_000_000}
    in_2024 = headline(figures.sums((2024, 2024)), figures.distinct((2024, 2024)))
    in_2019 = headline(figures.sums((2019, 2019)), figures.distinct((2019, 2019)))
    assert (in_2019["households"], in_2024["households"]) == (1, 2)
    in_zhouxiang = headline(figures.sums(town="周巷镇"), figures.distinct(town="周巷镇"))
    assert (in_zhouxiang["households"], in_zhouxiang["subsidy_paid_fen"]) == (1, 250_000)


def test_fold_is_order_independent_and_differences_name_what_differs():
    envelopes = f.history_of_three_households()
    assert fold(envelopes) == fold(reversed(envelopes))
    live = fold(envelopes[:-1])
    differences = live.differences(fold(envelopes))
    assert any("operator_subsidy_fen: live 2000000, refolded 3000000" in line for line in differences)
    assert any("operator_subsidy_projects: 1 only refolded" in line for line in differences)
    assert Figures().differences(Figures()) == []


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (3_447_000_000, "3447"),
        (380_440_000, "380.44"),
        (1_000_000_000, "1000"),
        (500_000, "0.5"),
        (4_999, "0"),
        (5_000, "0.01"),
        (0, "0"),
        (3_447_123_456, "3447.12"),
    ],
)
def test_wan_yuan_formatting_follows_the_seed(fen, text):
    assert wan_yuan(fen) == text


def seed_figures() -> tuple[dict, dict]:
    overall = headline(
        {"subsidy_paid_fen": 3_447_000_000, "operator_subsidy_units": 6622, "operator_subsidy_fen": 380_440_000},
        {"households": 7044, "operator_subsidy_projects": 34},
    )
    by_year = {year: headline({}, {}) for year in range(2019, 2024)}
    by_year[2024] = headline(
        {"operator_subsidy_units": 6622, "operator_subsidy_fen": 380_440_000}, {"operator_subsidy_projects": 34}
    )
    return overall, by_year


def test_report_text_reproduces_the_seeds_sentences():
    overall, by_year = seed_figures()
    assert report_text(2019, 2024, overall, by_year) == (
        "一、安居保障\n"
        "2024年，共计对34个项目6622套保租房发放运营奖补380.44万元。"
        "2019年至2024年，累计保障外来务工人员家庭7044户，发放公租房租金补贴3447万元。"
    )


def test_an_empty_range_says_there_is_no_data_rather_than_zero_households():
    assert report_text(2021, 2021, headline({}, {}), {2021: headline({}, {})}) == "2021年暂无统计数据。"
    assert report_text(2019, 2020, headline({}, {}), {}) == "2019年至2020年暂无统计数据。"


def test_a_range_with_activity_but_no_subsidy_leaves_the_subsidy_sentence_out():
    text = report_text(2021, 2021, headline({"participations": 3}, {}), {})
    assert text == "四、活动、关爱与志愿服务\n2021年，各类新市民活动累计参与3人次。"


def test_a_summed_count_is_not_called_approximate():
    overall, by_year = seed_figures()
    assert "约" not in report_text(2019, 2024, overall, by_year)


def test_report_text_mentions_participations_and_enrolments_when_there_are_some():
    figures = headline({"participations": 16000, "insurance.enrolment_activated": 12}, {})
    text = report_text(2024, 2024, figures, {})
    assert "为新市民办理参保12人次" in text
    assert "各类新市民活动累计参与16000人次" in text


def test_appeals_of_every_service_are_counted_by_outcome_and_case_type():
    envelopes = [
        f.appeal("housing", "received", f.resident(1), f.shanghai(2024, 12, 20), "subsidy_application", "浒山街道"),
        f.appeal("housing", "upheld", f.resident(1), f.shanghai(2025, 1, 1, 0, 30), "subsidy_application", "浒山街道"),
        f.appeal("insurance", "received", f.resident(2), f.shanghai(2025, 2, 1), "enrolment"),
        f.appeal("insurance", "dismissed", f.resident(2), f.shanghai(2025, 2, 20), "enrolment"),
    ]
    for figures in (fold(envelopes), fold(f.loaded(envelope) for envelope in envelopes)):
        assert headline(figures.sums(), figures.distinct())["appeals"] == {"received": 2, "upheld": 1, "dismissed": 1}
        in_2025 = headline(figures.sums((2025, 2025)), figures.distinct((2025, 2025)))["appeals"]
        assert in_2025 == {"received": 1, "upheld": 1, "dismissed": 1}  # decided in Cixi's 2025
        assert (2025, "浒山街道", "subsidy_application", "housing.appeal_upheld") in figures.totals
        assert (2025, UNKNOWN, "enrolment", "insurance.appeal_dismissed") in figures.totals
    text = report_text(2025, 2025, headline(fold(envelopes).sums(), {}), {})
    assert "受理复核申请2件，纠正原决定1件，维持原决定1件" in text

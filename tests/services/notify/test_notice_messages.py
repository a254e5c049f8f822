"""Personalisation tables for every notice, and the templates they fill (the migrations' current versions)."""

from datetime import UTC, datetime

import pytest

from services.notify import activity_messages, insurance_messages, subscriptions
from services.notify.notice_text import clipped, moment_text
from services.notify.templating import check_template, placeholders, render
from tests.services.notify.rendering import BROADCAST, current_bodies
from tests.services.notify.samples import NOTICES, loaded, resident


@pytest.fixture(scope="module")
def bodies():
    return current_bodies()


def test_every_notice_has_a_transactional_template(bodies):
    templates = {notice.template for notice in subscriptions.NOTICES.values()}
    assert templates == set(bodies) - {BROADCAST[1]}
    assert {t: check_template(bodies[t], "transactional") for t in templates} == dict.fromkeys(templates, [])


@pytest.mark.parametrize("kind", sorted(NOTICES), ids=".".join)
def test_a_sample_renders_to_its_expected_single_sms(kind, bodies):
    raw, text = NOTICES[kind]
    notice = subscriptions.NOTICES[kind]
    personalisation = notice.personalise(loaded(*kind, raw))
    body = bodies[notice.template]
    assert sorted(personalisation) == sorted(placeholders(body))
    rendered = render(body, personalisation)
    assert (rendered.body, rendered.segments) == (text, 1)


@pytest.mark.parametrize(
    ("guardian", "scheme", "route", "expected"),
    [
        (None, "pension", "flexible", {"who": "您", "scheme": "企业职工基本养老保险"}),
        (None, "pension", "employee", {"who": "您", "scheme": "企业职工基本养老保险"}),
        (None, "medical", "employee_points", {"who": "您", "scheme": "职工积分医疗保险"}),
        (None, "medical", "resident", {"who": "您", "scheme": "城乡居民医保"}),
        ("r_guardian_000001", "medical", "newborn", {"who": "您子女", "scheme": "城乡居民医保"}),
        ("r_guardian_000001", "medical", "preschool", {"who": "您子女", "scheme": "城乡居民医保"}),
    ],
)
def test_whose_insurance_and_which(guardian, scheme, route, expected):
    assert insurance_messages.insured({"guardian_resident_id": guardian, "scheme": scheme, "route": route}) == expected


@pytest.mark.parametrize(
    ("monthly", "yearly", "text"),
    [
        (120_000, None, "个人每月缴费1200元"),
        (84_050, None, "个人每月缴费840.5元"),
        (None, 43_000, "个人年缴费430元"),
        (None, None, "缴费按规定办理"),
    ],
)
def test_contribution_text(monthly, yearly, text):
    data = {"monthly_contribution_fen": monthly, "yearly_contribution_fen": yearly}
    assert insurance_messages.contribution_text(data) == text


@pytest.mark.parametrize(("scheme", "office"), [("pension", "社保经办机构"), ("medical", "医保经办机构")])
def test_a_refusal_names_the_office_of_its_scheme(scheme, office):
    raw, _ = NOTICES[("insurance", "enrolment_rejected")]
    route = {"pension": "flexible", "medical": "resident"}[scheme]
    data = loaded("insurance", "enrolment_rejected", {**raw, "scheme": scheme, "route": route})
    assert insurance_messages.enrolment_rejected(data)["office"] == office


def test_every_failing_insurance_rule_is_a_rejection_code():
    from services.insurance import rules
    from shared.cixi.contracts.insurance import REJECTION_REASONS

    names = {rule.__name__ for rules_of in rules.ROUTE_RULES.values() for rule in rules_of}
    names = {"employee_registration" if n == "registered" else n for n in names} | {"flexible_registration"}
    names -= {"pension_hukou_not_required", "elderly_age", "cixi_hukou"}  # never fail, or not an enrolment
    names |= {"minimum_age", "zhejiang_permit"}  # employment registration's rules
    assert names <= set(REJECTION_REASONS)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2025, 7, 3, 2, 0, tzinfo=UTC), "7月3日10:00"),
        (datetime(2025, 12, 31, 16, 30, tzinfo=UTC), "1月1日00:30"),  # already New Year's Day in Cixi
    ],
)
def test_times_are_cixi_local(moment, text):
    assert moment_text(moment) == text


@pytest.mark.parametrize(
    ("reason", "outcome"),
    [
        ("by_resident", "您的报名已按您的申请取消"),
        ("by_staff", "您的报名已由工作人员取消，如有疑问请咨询主办方"),
        ("activity_cancelled", "因活动取消，您的报名已取消，很抱歉给您带来不便"),
    ],
)
def test_cancellation_wording_follows_the_reason(reason, outcome):
    raw, _ = NOTICES[("events", "registration_cancelled")]
    data = loaded("events", "registration_cancelled", {**raw, "reason": reason})
    assert activity_messages.registration_cancelled(data)["outcome"] == outcome


def test_long_titles_and_venues_are_clipped_to_one_sms(bodies):
    raw, _ = NOTICES[("events", "registration_confirmed")]
    data = loaded(
        "events", "registration_confirmed", {**raw, "title": "慈溪市" * 30, "venue_name": "图书馆\n分馆" * 10}
    )
    personalisation = activity_messages.with_venue(data)
    assert personalisation["title"] == "慈溪市" * 5 + "…" and len(personalisation["venue"]) == 16
    assert render(bodies["registration_confirmed"], personalisation).segments == 1
    assert clipped("  a \n b  ", 10) == "a b"


def test_employment_registration_is_messaged_only_when_late():
    notice = subscriptions.NOTICES[("insurance", "employment_registered")]
    raw, _ = NOTICES[("insurance", "employment_registered")]
    assert notice.wanted(loaded("insurance", "employment_registered", raw))
    assert not notice.wanted(loaded("insurance", "employment_registered", {**raw, "late": False}))


def test_recipients():
    child = {"resident_id": resident(1), "guardian_resident_id": resident(2)}
    assert subscriptions.policyholder(child) == [resident(2)]
    assert subscriptions.policyholder({**child, "guardian_resident_id": None}) == [resident(1)]
    holders = {"resident_ids": [resident(3), resident(4), resident(3)]}
    assert subscriptions.every_holder(holders) == [resident(3), resident(4)]


def test_dedupe_keys():
    event = {"event_id": "6f1c9a52-0d7e-4a7b-9d59-3f1c2b8e4a10", "data": {"resident_id": resident(1)}}
    own = subscriptions.dedupe_key(event, "enrolment_activated", resident(1))
    assert own == f"event:{event['event_id']}:enrolment_activated"  # as housing's notices
    other = subscriptions.dedupe_key(event, "enrolment_activated", resident(2))
    assert other == f"{own}:{resident(2)}"
    fan_out = {"event_id": event["event_id"], "data": {"resident_ids": [resident(3)]}}
    assert subscriptions.dedupe_key(fan_out, "activity_rescheduled", resident(3)).endswith(resident(3))
    long_id = "r_" + "f" * 62
    hashed = subscriptions.dedupe_key(fan_out, "activity_rescheduled", long_id)
    assert len(hashed) <= subscriptions.DEDUPE_KEY_CHARS and long_id not in hashed
    assert hashed == subscriptions.dedupe_key(fan_out, "activity_rescheduled", long_id)

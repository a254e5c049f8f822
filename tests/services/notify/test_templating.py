"""Rendering, placeholders and SMS billing (signature counted; 70 = 1 segment, then 67 a segment)."""

import pytest

from services.notify import housing_messages
from services.notify.templating import (
    check_template,
    placeholders,
    render,
    segment_count,
    yuan,
)
from shared.platform.errors import ValidationError

SIGNATURE = "【慈溪新市民】"  # 7 characters


@pytest.mark.parametrize(
    ("text_chars", "length", "segments"),
    [(63, 70, 1), (64, 71, 2), (127, 134, 2), (128, 135, 3), (493, 500, 8)],
)
def test_chinese_text_is_billed_by_characters_with_the_signature(text_chars, length, segments):
    rendered = render("新" * text_chars, {}, SIGNATURE)
    assert rendered.body.startswith(SIGNATURE)
    assert rendered.billed_length == length
    assert rendered.segments == segments


@pytest.mark.parametrize(("length", "segments"), [(0, 0), (1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3)])
def test_segment_count(length, segments):
    assert segment_count(length) == segments


def test_over_500_characters_is_refused():
    with pytest.raises(ValidationError) as error:
        render("新" * 494, {}, SIGNATURE)
    assert "body" in error.value.errors


def test_placeholders_are_filled_and_listed():
    body = "您{period}的租赁补贴{amount}元已发放，{amount}元。"
    assert placeholders(body) == ["period", "amount"]
    rendered = render(body, {"period": "2026年3月", "amount": "840"}, SIGNATURE)
    assert rendered.body == "【慈溪新市民】您2026年3月的租赁补贴840元已发放，840元。"


def test_missing_unknown_and_empty_personalisation_are_all_reported():
    with pytest.raises(ValidationError) as error:
        render("{name}您好，{amount}元，{period}", {"amount": "1", "period": " ", "extra": "x"}, SIGNATURE)
    assert error.value.errors == {
        "personalisation.name": ["Missing personalisation: name"],
        "personalisation.extra": ["Unknown personalisation: extra"],
        "personalisation.period": ["Empty personalisation: period"],
    }


@pytest.mark.parametrize(
    ("body", "kind", "problem"),
    [
        ("政策提醒：{title}", "promotional", "must end with 回T退订"),
        ("【慈溪】您好", "transactional", "signature is added by notify"),
        ("您好{Name}", "transactional", "placeholders are"),
        ("", "transactional", "must not be empty"),
    ],
)
def test_template_checks(body, kind, problem):
    assert any(problem in p for p in check_template(body, kind, SIGNATURE))


def test_a_good_promotional_template_passes():
    assert check_template("政策提醒：{title}。回T退订", "promotional", SIGNATURE) == []


@pytest.mark.parametrize(("fen", "text"), [(84000, "840"), (84050, "840.5"), (84055, "840.55"), (5, "0.05"), (0, "0")])
def test_yuan(fen, text):
    assert yuan(fen) == text


def test_disbursement_personalisation():
    assert housing_messages.subsidy_disbursed({"period": "2026-03", "amount_fen": 120000}) == {
        "period": "2026年3月",
        "amount": "1200",
    }

"""No code ever reaches a resident: every reason code any contract lets a publisher put in an event notify
consumes is rendered through the real templates (the notify migrations' current versions) and must read as
Chinese; the golden file holds every such text for a person to read."""

import logging
import re

import pytest

from services.notify import reasons, subscriptions
from services.notify.notice_text import reason_text
from shared.platform.contracts import load_all, reason_fields
from tests.services.notify.rendering import GOLDEN, current_bodies, golden_text, rendered, variants
from tests.services.notify.samples import NOTICES

CODE_WORD = re.compile(r"[A-Za-z_]{3,}")


@pytest.fixture(scope="module")
def texts():
    return rendered(current_bodies())


def test_every_event_notify_consumes_has_a_notice_and_a_sample():
    consumed = {
        (c.source, c.event_type) for c in load_all().consumed_by("notify") if c.event_type != "contact_provided"
    }
    assert set(subscriptions.NOTICES) == consumed == set(NOTICES)


def test_every_reason_code_notify_can_receive_has_wording():
    registry = load_all()
    unworded = {
        f"{contract.source}.{contract.event_type}.{name}={code}"
        for contract in registry.consumed_by("notify")
        for name, codes in reason_fields(contract).items()
        for code in codes
        if code not in reasons.WORDING.get(contract.source, {})
    }
    assert unworded == set()


def test_every_text_renders_without_a_code_word_or_the_fallback(texts, caplog):
    with caplog.at_level(logging.WARNING, logger=reasons.__name__):
        again = rendered(current_bodies())
    assert again == texts and caplog.records == []
    with_code = {label: text for label, text in texts.items() if CODE_WORD.search(text.removesuffix("回T退订"))}
    with_fallback = [label for label, text in texts.items() if reasons.UNWORDED in text]
    assert (with_code, with_fallback) == ({}, [])


def test_each_reason_code_variant_is_rendered():
    labels = {label for label, _, _ in variants()}
    for contract in load_all().consumed_by("notify"):
        for name, codes in reason_fields(contract).items():
            assert {f"{contract.source}.{contract.event_type} {name}={code}" for code in codes} <= labels


def test_the_golden_file_is_what_the_templates_render(texts):
    assert GOLDEN.read_text(encoding="utf-8") == golden_text(texts), "run `make golden` and read the diff"


def test_an_unknown_code_reads_as_a_generic_phrase_and_is_logged(caplog):
    with caplog.at_level(logging.WARNING, logger=reasons.__name__):
        text = reason_text("housing", ["code_from_the_future"])
    assert text == reasons.UNWORDED and "code_from_the_future" not in text
    assert [r.getMessage() for r in caplog.records] == [
        f"reason code without wording: housing.code_from_the_future (the resident is sent {reasons.UNWORDED!r})"
    ]


def test_a_code_is_the_publishers_word():
    assert reason_text("housing", ["arrears"]) == "拖欠租金"
    assert reason_text("insurance", ["arrears"]) == "欠缴保险费"


def test_a_reviewers_note_follows_the_reasons_masked_and_bounded():
    text = reason_text("housing", ["rejected_on_review"], "缺少租赁合同，请致电13812345678")
    assert text == "经审核不符合条件，审核意见：缺少租赁合同，请致电138****5678"
    assert len(reason_text("housing", ["rejected_on_review"], "很长" * 200)) == 120


def test_a_failed_recheck_names_the_rules():
    text = reason_text("housing", ["no_longer_eligible"], details=["owns_home_in_cixi", "not_employed_in_cixi"])
    assert text == "资格复核未通过（本人、配偶或未成年子女在慈溪有自有住房、未在慈溪就业）"

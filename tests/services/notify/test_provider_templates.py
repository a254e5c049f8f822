"""Templates by provider code: what registration refuses, what is checked before a message goes, and the
route's failover rule (unit level; the service-level paths are in test_vendor_delivery.py)."""

from dataclasses import replace

import pytest

from services.notify import provider_templates, statuses
from services.notify.providers.base import LogProvider, Outgoing, Provider, Submission, calls
from services.notify.providers.routing import Failover, SmsRoute
from shared.platform.errors import ValidationError
from tests.services.notify.vendors import vendor_config

BODY = "您{period}的租赁补贴{amount}元已发放，请注意查收。"
GOOD = {"aliyun": {"code": "SMS_465123456", "variables": ["period", "amount"]},
        "tencent": {"code": "2245678", "variables": ["amount", "period"]}}  # fmt: skip


def test_registration_accepts_approved_codes_and_refuses_what_could_never_be_approved():
    assert provider_templates.registration_errors(BODY, GOOD) == {}
    errors = provider_templates.registration_errors(
        BODY,
        {
            "aliyun": {"code": "465123456", "variables": ["period", "amount"]},  # not SMS_…
            "tencent": {"code": "2245678", "variables": ["amount"]},  # a placeholder missing
            "huawei": {"code": "x", "variables": []},
        },
    )
    assert set(errors) == {"provider_templates.aliyun", "provider_templates.tencent", "provider_templates.huawei"}
    twice = provider_templates.registration_errors(BODY, {"tencent": {"code": "2245678", "variables": ["amount"] * 2}})
    assert "a variable is listed twice" in twice["provider_templates.tencent"]
    link = provider_templates.registration_errors(
        "详见 www.cixi.gov.cn {x}", {"aliyun": {"code": "SMS_465123456", "variables": ["x"]}}
    )
    assert any("link" in problem for problem in link["provider_templates.aliyun"])


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (None, "missing"),
        ("x" * 36, "longer than"),
        ("请访问 http://evil.example.com", "link or a phone number"),
        ("致电13812345678", "link or a phone number"),
    ],
)
def test_a_message_the_provider_would_refuse_is_refused_before_the_call(value, why):
    spec = GOOD["aliyun"]
    problem = provider_templates.problem("aliyun", spec, {"period": "2026年3月", "amount": value})
    assert why in problem and (value is None or value not in problem)
    assert provider_templates.problem("aliyun", spec, {"period": "2026年3月", "amount": "840.5"}) is None
    assert "no aliyun template code" in provider_templates.problem("aliyun", None, {})


def test_parameters_are_named_for_alibaba_and_ordered_for_tencent():
    values = {"period": "2026年3月", "amount": "840"}
    assert provider_templates.named_parameters(GOOD["aliyun"], values) == {"period": "2026年3月", "amount": "840"}
    assert provider_templates.ordered_parameters(GOOD["tencent"], values) == ["840", "2026年3月"]


class Failing(Provider):
    """A provider whose calls all fail technically (no answer), counting what it was given."""

    batch_size = 100

    def __init__(self, name):
        self.name = name
        self.given = []

    def send(self, batch):
        self.given += [m.out_id for m in batch]
        return [Submission(m.out_id, status=statuses.TECHNICAL_FAILURE, reason="timeout") for m in batch]


def outgoing(i, held_by=None):
    return Outgoing(out_id=f"n{i}.1", recipient="13800000000", body="x", template_id="t", held_by=held_by)


def test_failover_moves_new_messages_but_never_a_held_out_id():
    now = [0.0]
    sick, spare = Failing("aliyun"), LogProvider()
    spare.name = "tencent"
    route = SmsRoute([sick, spare], Failover(window=60, threshold=0.5, min_results=2, cooldown=30), lambda: now[0])
    first = route.send([outgoing(1), outgoing(2)])
    assert {s.provider for s in first} == {"aliyun"}
    assert route.current() == "tencent"  # two technical failures of two: aliyun rests
    later = route.send([outgoing(3), outgoing(1, held_by="aliyun")])
    assert [(s.out_id, s.provider) for s in later] == [("n3.1", "tencent"), ("n1.1", "aliyun")]
    assert sick.given == ["n1.1", "n2.1", "n1.1"]  # the held out_id went back only where it may already be
    now[0] = 31.0
    assert route.current() == "aliyun"  # tried again after the cooldown


class Counting(LogProvider):
    """Delivers, counting the size of each batch it was handed."""

    def __init__(self, name, batch_size):
        super().__init__()
        self.name, self.batch_size, self.batches = name, batch_size, []

    def send(self, batch):
        self.batches.append(len(batch))
        return super().send(batch)


def test_the_route_batches_as_the_provider_in_use_and_hands_each_no_more_than_its_own():
    first, second = Counting("aliyun", 100), Counting("tencent", 200)
    route = SmsRoute([first, second], Failover(min_results=20, cooldown=30), lambda: 0.0)
    assert route.batch_size == 100
    route.health["aliyun"].record([True] * 20)  # twenty technical failures: aliyun rests
    assert route.batch_size == 200  # not the smallest of all: Tencent's broadcast goes in full calls
    route.send([outgoing(i) for i in range(250)] + [outgoing(i, held_by="aliyun") for i in range(250, 500)])
    assert first.batches == [100, 100, 50]  # the held ones went back to aliyun, in its own batches
    assert second.batches == [200, 50]


def test_a_batch_is_split_into_calls_of_one_key_at_most_limit_each_number_once_a_call():
    batch = [outgoing(i) for i in range(5)]  # all to the same number
    batch += [replace(outgoing(i), recipient=f"137{i:08d}") for i in range(5, 10)]
    parity = lambda m: int(m.out_id[1:].split(".")[0]) % 2  # noqa: E731
    split = calls(batch, key=parity, limit=3)
    assert sorted(m.out_id for call in split for m in call) == sorted(m.out_id for m in batch)
    assert all(len(call) <= 3 and len({m.recipient for m in call}) == len(call) for call in split)
    assert all(len({parity(m) for m in call}) == 1 for call in split)
    assert sorted(len(call) for call in split) == [1, 1, 2, 3, 3]  # the number given five times: five calls


def test_receipt_codes_are_read_by_the_provider_that_sent():
    spare = LogProvider()
    spare.name = "tencent"
    route = SmsRoute([Failing("aliyun"), spare])
    assert route.parse_receipt({"out_id": "n1.1", "msgid": "m", "code": "x"}, "tencent") == ("n1.1", "m", "tencent:x")
    assert route.receipt_status("tencent:x") == (statuses.DELIVERED, None)


def test_a_template_needs_the_code_of_each_provider_in_use(start_notify, token_for):
    notify = start_notify(gateway=False, **vendor_config("aliyun", "tencent"))
    token = token_for("admin", "admin")
    with notify.rpc(token) as rpc:
        with pytest.raises(ValidationError) as refused:
            rpc.create_template("housing_visit", "看房提醒", "transactional", "您预约的{estate}看房时间为{time}。",
                                provider_templates={"aliyun": GOOD["aliyun"]})  # fmt: skip
        assert set(refused.value.errors) == {"provider_templates.aliyun", "provider_templates.tencent"}
        codes = {"aliyun": {"code": "SMS_465123456", "variables": ["estate", "time"]},
                 "tencent": {"code": "2245678", "variables": ["estate", "time"]}}  # fmt: skip
        visit = ("housing_visit", "看房提醒", "transactional", "您预约的{estate}看房时间为{time}。")
        created = rpc.create_template(*visit, provider_templates=codes)
        assert created["provider_templates"]["tencent"] == {**codes["tencent"], "allow_links": False}
        seeded = rpc.get_template("subsidy_approved")["provider_templates"]
        assert set(seeded) == {"aliyun", "tencent"} and seeded["aliyun"]["variables"] == ["amount"]
        renamed = rpc.update_template("housing_visit", name="看房时间提醒")  # codes carried over
        assert renamed["version"] == 2 and renamed["provider_templates"] == created["provider_templates"]

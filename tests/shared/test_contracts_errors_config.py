"""Envelope, contract registry, typed errors, config substitution and the Cixi divisions."""

import pytest
from marshmallow import Schema
from nameko.exceptions import deserialize, serialize

from shared.cixi.towns import resolve_town, town_names
from shared.platform.config import load_yaml
from shared.platform.contracts import ContractRegistry, build_envelope, validate_envelope
from shared.platform.errors import Conflict, NotFound, ValidationError
from tests.shared import sample_services  # noqa: F401  (registers sampler.thing_happened)


def test_envelope_has_every_field_and_validates():
    envelope = build_envelope("sampler", "thing_happened", {"key": "k", "fail_times": 0}, correlation_id="c-1")
    assert set(envelope) == {"event_id", "event_type", "source", "version", "occurred_at", "correlation_id", "data"}
    assert envelope["occurred_at"].endswith("+00:00")
    loaded, data = validate_envelope(envelope)
    assert loaded["event_id"] == envelope["event_id"] and data["key"] == "k"


def test_an_envelope_written_in_a_trace_carries_its_traceparent():
    traceparent = f"00-{'4b' * 16}-{'00f067aa0ba902b7'}-01"
    envelope = build_envelope("sampler", "thing_happened", {"key": "k", "fail_times": 0}, traceparent=traceparent)
    loaded, _data = validate_envelope(envelope)
    assert loaded["traceparent"] == traceparent


def test_publisher_cannot_emit_data_that_breaks_its_contract():
    with pytest.raises(ValidationError) as caught:
        build_envelope("sampler", "thing_happened", {"key": 1, "extra": True})
    assert set(caught.value.errors) == {"data.key", "data.fail_times", "data.extra"}


@pytest.mark.parametrize(
    ("mutate", "fields"),
    [
        (lambda e: e.pop("event_id"), {"event_id"}),
        (lambda e: e.update(event_id="nope", occurred_at="yesterday"), {"event_id", "occurred_at"}),
        (lambda e: e.update(version="1"), {"version"}),
        (lambda e: e.update(version=9), {"version"}),
        (lambda e: e.update(surprise=1), {"surprise"}),
        (lambda e: e.update(traceparent="00-abc-def-01"), {"traceparent"}),
        (lambda e: e.update(traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01" + "-x" * 200), {"traceparent"}),
        (lambda e: e["data"].update(fail_times="x"), {"data.fail_times"}),
    ],
)
def test_invalid_envelopes_name_every_bad_field(mutate, fields):
    envelope = build_envelope("sampler", "thing_happened", {"key": "k", "fail_times": 0})
    mutate(envelope)
    with pytest.raises(ValidationError) as caught:
        validate_envelope(envelope)
    assert set(caught.value.errors) == fields


def test_registry_refuses_a_second_registration():
    registry = ContractRegistry()
    registry.register("a", "b_done", 1, Schema)
    with pytest.raises(ValueError, match="twice"):
        registry.register("a", "b_done", 1, Schema)


def test_validation_error_lists_every_field_readably_and_survives_the_wire():
    error = ValidationError({"phone": ["not a mainland mobile number"], "town": ["unknown town"]})
    assert "phone: not a mainland mobile number" in str(error) and "town: unknown town" in str(error)
    back = deserialize(serialize(error))
    assert isinstance(back, ValidationError) and back.errors == error.errors


@pytest.mark.parametrize("error", [NotFound("no case x"), Conflict("open case y")])
def test_domain_errors_keep_their_type_over_the_wire(error):
    back = deserialize(serialize(error))
    assert type(back) is type(error) and str(back) == str(error)


def test_config_substitutes_environment_with_defaults(tmp_path, monkeypatch):
    path = tmp_path / "c.yaml"
    path.write_text("A: ${NC_TEST_A:sqlite:///var/x.db}\nB: ${NC_TEST_B:5}\nC: ${NC_TEST_C:[1, 2]}\n")
    monkeypatch.setenv("NC_TEST_B", "7")
    assert load_yaml(path) == {"A": "sqlite:///var/x.db", "B": 7, "C": [1, 2]}


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("观海卫镇", "观海卫镇"),
        ("330282107", "观海卫镇"),
        ("107", "观海卫镇"),
        ("观城", "观海卫镇"),
        ("天元", "周巷镇"),
        ("范市", "龙山镇"),
        ("浒山", "浒山街道"),
        ("陆中湾街道", "陆中湾街道"),
        ("上海", None),
        ("", None),
        (5, None),
    ],
)
def test_town_resolution(value, name):
    town = resolve_town(value)
    assert (town.name if town else None) == name


def test_twenty_divisions():
    assert len(town_names()) == 20

"""shared/platform/compiled_schema.py loads exactly what marshmallow's `Schema.load` loads, and refuses with its errors.

Every contract's schema and the envelope's are fed data made from their own fields (right and wrong types,
each enumeration's values, missing and extra keys); for each, both ways must return equal results or raise
equal messages."""

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError as MarshmallowValidationError
from marshmallow import fields, validate

from shared.platform.clock import SHANGHAI
from shared.platform.compiled_schema import CompiledSchema
from shared.platform.contracts import EnvelopeSchema, load_all

SCHEMAS = [("envelope", EnvelopeSchema())] + [(".".join(map(str, c.key)), c.loader()) for c in load_all().all()]

ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 12),
    st.text(max_size=3),
    st.sampled_from(["2026-12-03T06:00:00+08:00", "2026-12-03T06:00:00", "2026-12-03", "2026-13", "2026-12"]),
    st.lists(st.text(max_size=2), max_size=2),
    st.just({}),
)


def valid(field: fields.Field) -> st.SearchStrategy:
    """Values the field accepts (its type, within its validators), as JSON carries them."""
    if isinstance(field, fields.List):
        sizes = [rule for rule in field.validators if isinstance(rule, validate.Length)]
        least = sizes[0].min or 0 if sizes else 0
        return st.lists(valid(field.inner), min_size=least, max_size=max(3, least))
    if isinstance(field, fields.AwareDateTime):
        since = datetime(2000, 1, 1)  # noqa: DTZ001 (naive: hypothesis adds the zone; before 1928 Shanghai kept LMT)
        return st.datetimes(min_value=since, timezones=st.sampled_from([UTC, SHANGHAI])).map(lambda at: at.isoformat())
    if isinstance(field, fields.Date):
        return st.dates().map(lambda day: day.isoformat())
    if isinstance(field, fields.UUID):
        return st.uuids().map(str)
    if isinstance(field, fields.Boolean):
        return st.booleans()
    if isinstance(field, fields.Dict):
        return st.dictionaries(st.text(max_size=3), ANYTHING, max_size=2)
    low, high = 0, 40
    for rule in field.validators:
        if isinstance(rule, validate.OneOf):
            return st.sampled_from(list(rule.choices))
        if isinstance(rule, validate.Regexp):
            return st.from_regex(rule.regex, fullmatch=True)
        if isinstance(rule, (validate.Length, validate.Range)):
            low, high = rule.min if rule.min is not None else low, min(rule.max if rule.max is not None else high, 400)
    if isinstance(field, fields.Integer):
        return st.integers(low, max(low, high))
    return st.text(min_size=low, max_size=max(low, min(high, 70)))


def data_for(schema, damaged: bool = True) -> st.SearchStrategy:
    """Valid data, `damaged`: with up to two fields made wrong, dropped or None, or a key added."""
    required = {name: valid(field) for name, field in schema.load_fields.items() if field.required}
    optional = {name: valid(field) for name, field in schema.load_fields.items() if not field.required}
    names = sorted(schema.load_fields) + ["unexpected"]

    def spoil(data: dict, damage: list) -> dict:
        spoiled = dict(data)
        for name, how, value in damage:
            if how == "drop":
                spoiled.pop(name, None)
            else:
                spoiled[name] = None if how == "none" else value
        return spoiled

    harm = st.tuples(st.sampled_from(names), st.sampled_from(["drop", "none", "wrong"]), ANYTHING)
    damage = st.lists(harm, max_size=2 if damaged else 0)
    return st.tuples(st.fixed_dictionaries(required, optional=optional), damage).map(lambda pair: spoil(*pair))


def outcome(load, data):
    try:
        return "loaded", load(data)
    except MarshmallowValidationError as exc:
        return "refused", exc.messages


@pytest.mark.parametrize(("name", "schema"), SCHEMAS, ids=[name for name, _schema in SCHEMAS])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_compiled_load_equals_schema_load(name, schema, data):
    compiled = CompiledSchema(schema)
    value = data.draw(data_for(schema))
    expected = outcome(schema.load, value)
    assert outcome(compiled.load, value) == expected


@pytest.mark.parametrize(("name", "schema"), SCHEMAS, ids=[name for name, _schema in SCHEMAS])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_valid_data_is_loaded_by_both_to_the_same(name, schema, data):
    """So the comparison above does not compare refusals only."""
    compiled = CompiledSchema(schema)
    value = data.draw(data_for(schema, damaged=False))
    expected = outcome(schema.load, value)
    assert expected[0] == "loaded" or not compiled.direct, expected
    assert outcome(compiled.load, value) == expected


def test_an_envelope_wrong_in_several_fields_is_refused_naming_each():
    compiled = CompiledSchema(EnvelopeSchema())
    bad = {"event_id": "nope", "event_type": "X", "source": "housing", "version": 0, "occurred_at": "2026-12-03T06:00"}
    with pytest.raises(MarshmallowValidationError) as refused:
        compiled.load(bad)
    assert set(refused.value.messages) == {"event_id", "event_type", "version", "occurred_at", "correlation_id", "data"}


def test_schemas_with_hooks_are_loaded_by_marshmallow_itself():
    hooked = [c for c in load_all().all() if any(c.loader()._hooks.values())]
    assert hooked, "a contract with a schema-level validator exists (insurance)"
    assert not any(CompiledSchema(c.loader()).direct for c in hooked)
    assert CompiledSchema(EnvelopeSchema()).direct

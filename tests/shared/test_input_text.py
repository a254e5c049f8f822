"""Every string field of every service's input schemas is bounded and refuses invisible characters (control,
zero-width, bidirectional overrides), and its error never repeats what was sent."""

from __future__ import annotations

import importlib
import inspect
from datetime import UTC, date, datetime

import pytest
from marshmallow import Schema, fields

from shared.platform.config import SERVICES
from shared.platform.errors import ValidationError
from shared.platform.validation import Text, echo, load, text_problem

HOSTILE = {
    "too long": "张" * 6000,
    "bidirectional override": "张\u202e三",
    "bidirectional isolate": "张\u2066三",
    "zero-width space": "张\u200b三",
    "byte-order mark": "\ufeff张三",
    "NUL": "张\x00三",
    "bell": "张\x07三",
    "line separator": "张\u2028三",
}
CONTEXT = {"today": date(2026, 3, 2), "now": datetime(2026, 3, 2, 2, 0, tzinfo=UTC)}


def input_schemas() -> list[type[Schema]]:
    found = []
    for service in SERVICES:
        module = importlib.import_module(f"services.{service}.schemas")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Schema) and cls.__module__ == module.__name__ and not cls.__name__.endswith("Out"):
                found.append(cls)
    return found


def string_fields() -> list[tuple[type[Schema], str, object]]:
    """(schema, key, how a hostile string is sent) for each string a schema reads, inside lists and dict keys."""
    found = []
    for cls in input_schemas():
        for name, field in cls().fields.items():
            key = field.data_key or name
            if isinstance(field, fields.String):
                found.append((cls, key, lambda text: text))
            elif isinstance(field, fields.List) and isinstance(field.inner, fields.String):
                found.append((cls, key, lambda text: [text]))
            elif isinstance(field, fields.Dict) and isinstance(field.key_field, fields.String):
                found.append((cls, key, lambda text: {text: "x"}))
    return found


FIELDS = string_fields()


def test_every_service_has_input_schemas_with_string_fields():
    assert {cls.__module__.split(".")[1] for cls, _, _ in FIELDS} == set(SERVICES)


@pytest.mark.parametrize("hostile", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize(
    ("schema", "key", "shape"), FIELDS, ids=[f"{c.__module__.split('.')[1]}.{c.__name__}.{k}" for c, k, _ in FIELDS]
)
def test_a_hostile_string_is_refused_without_being_repeated(schema, key, shape, hostile):
    with pytest.raises(ValidationError) as refused:
        load(schema(), {key: shape(hostile)}, **CONTEXT)
    assert any(field == key or field.startswith(f"{key}.") for field in refused.value.errors)
    assert hostile not in str(refused.value) and hostile[:20] not in str(refused.value)


@pytest.mark.parametrize("text", ["张三", "Zhang San-Li", "O'Brien", "李 四", "阿卜杜勒·艾合买提"])
def test_ordinary_names_pass(text):
    assert text_problem(text, 50, min_length=1) is None


def test_multiline_text_keeps_newlines_and_tabs_and_nothing_else_invisible():
    assert text_problem("第一行\n\t第二行", 100, multiline=True) is None
    assert text_problem("第一行\n第二行", 100) is not None
    assert text_problem("第一行\u202e", 100, multiline=True) is not None


def test_a_text_field_must_be_bounded():
    with pytest.raises(TypeError):
        Text()


def test_echo_is_a_short_masked_prefix():
    assert echo("x" * 500) == "x" * 12 + "…"
    assert "13812345678" not in echo("13812345678") and echo("abc") == "abc"

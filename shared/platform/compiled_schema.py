"""A marshmallow schema's `load`, precompiled to a list of its fields, for the per-message path.

`Schema.load` spends most of an event's check outside the fields: error store, partial and unknown
handling, hook look-ups, per call. For a schema with no hooks that refuses unknown keys, loading valid data
is exactly: no key outside the fields, then each field's own `deserialize` (missing, default, None, type,
validators), its result stored under the field's attribute. `CompiledSchema.load` does only that, and hands
anything it does not accept to `Schema.load` itself, so a refusal raises marshmallow's own error, every bad
field listed. `bench/validation.py` measures the difference.
"""

from __future__ import annotations

from marshmallow import RAISE, Schema
from marshmallow import ValidationError as MarshmallowValidationError
from marshmallow.utils import missing


class CompiledSchema:
    def __init__(self, schema: Schema):
        self.schema = schema
        self.fields = [
            (field.data_key if field.data_key is not None else name, field.attribute or name, field)
            for name, field in schema.load_fields.items()
        ]
        self.keys = frozenset(key for key, _attribute, _field in self.fields)
        self.direct = (
            not any(schema._hooks.values())
            and schema.unknown == RAISE
            and not schema.many
            and not schema.partial
            and all("." not in attribute for _key, attribute, _field in self.fields)
        )

    def load(self, data) -> dict:
        if not self.direct or type(data) is not dict or not self.keys.issuperset(data):
            return self.schema.load(data)
        loaded = {}
        try:
            for key, attribute, field in self.fields:
                value = field.deserialize(data.get(key, missing), key, data)
                if value is not missing:
                    loaded[attribute] = value
        except MarshmallowValidationError:
            return self.schema.load(data)  # raises, naming every problem
        return loaded

"""Loading RPC input with a marshmallow schema: the result, or a ValidationError naming every bad field."""

from __future__ import annotations

from marshmallow import Schema
from marshmallow import ValidationError as MarshmallowValidationError

from shared.errors import ValidationError


def load_input(schema: Schema, payload, field: str = "_schema", **context) -> dict:
    if not isinstance(payload, dict):
        raise ValidationError({field: [f"Must be an object, got {type(payload).__name__}."]})
    if context:
        schema.context.update(context)
    try:
        return schema.load(payload)
    except MarshmallowValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {field: exc.messages}
        raise ValidationError(messages) from None

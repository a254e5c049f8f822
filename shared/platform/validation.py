"""Loading RPC input with a marshmallow schema: the result, or a ValidationError naming every bad field.

Every string a caller sends is bounded and free of invisible characters: `Text(max_length=…)` is the one
field for free text (names, titles, reasons), and `text_problem` the same rule for input checked by hand.
Errors describe the problem, never repeat the input; `echo` is the only way an error quotes a value.
"""

from __future__ import annotations

import re
import unicodedata

from marshmallow import Schema, fields
from marshmallow import ValidationError as MarshmallowValidationError

from shared.platform.errors import ValidationError
from shared.platform.personal_data import mask_text

# control (Cc), format (Cf: zero-width, bidirectional overrides and isolates, BOM), surrogates (Cs),
# line and paragraph separators (Zl, Zp): none is visible, several reorder or hide what a reviewer reads
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_MULTILINE = frozenset("\n\t")
ECHO_CHARS = 12
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,127}")  # a field, or a dotted path to one


def _invisible(char: str) -> bool:
    return unicodedata.category(char) in _INVISIBLE


def text_problem(value, max_length: int, min_length: int = 0, multiline: bool = False) -> str | None:
    """Why `value` is not acceptable text, or None. The message never contains the value."""
    if not isinstance(value, str):
        return "Not a valid string."
    if len(value) > max_length:
        return f"At most {max_length} characters."
    if len(value.strip()) < min_length:
        return "Must not be empty." if min_length == 1 else f"At least {min_length} characters."
    allowed = _MULTILINE if multiline else frozenset()
    if any(_invisible(char) and char not in allowed for char in value):
        return "Must not contain control, zero-width or bidirectional-override characters."
    return None


class Text(fields.String):
    """Bounded text without invisible characters; `multiline` allows newlines and tabs (reasons, notes)."""

    def __init__(self, *, max_length: int, min_length: int = 0, multiline: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.max_length, self.min_length, self.multiline = max_length, min_length, multiline

    def _deserialize(self, value, attr, data, **kwargs):
        problem = text_problem(value, self.max_length, self.min_length, self.multiline)
        if problem:
            raise MarshmallowValidationError(problem)
        return value


def echo(value) -> str:
    """A short, masked prefix of a caller's value, for an error that must point at it; invisible
    characters show as `?`."""
    text = str(value)
    prefix = "".join("?" if _invisible(char) else char for char in text[:ECHO_CHARS])
    return mask_text(prefix) + ("…" if len(text) > ECHO_CHARS else "")


def _safe_keys(messages):
    """marshmallow keys an error by what was sent (an unknown field's name, a mapping's bad key): such keys
    are echoed, field names and list positions kept."""
    if not isinstance(messages, dict):
        return messages
    safe = {}
    for key, value in messages.items():
        name = str(key) if isinstance(key, int) or _FIELD_NAME.fullmatch(str(key)) else echo(key)
        safe[name] = _safe_keys(value)
    return safe


def load(schema: Schema, payload, field: str = "_schema", **context) -> dict:
    if not isinstance(payload, dict):
        raise ValidationError({field: [f"Must be an object, got {type(payload).__name__}."]})
    if context:
        schema.context.update(context)
    try:
        return schema.load(payload)
    except MarshmallowValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {field: exc.messages}
        raise ValidationError(_safe_keys(messages)) from None

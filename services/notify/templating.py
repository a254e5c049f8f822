"""Template rendering and SMS billing: named placeholders, signature, billed length and segments.

Length is counted in characters (a Chinese character counts as one), signature included: up to 70 is one
billed message, longer texts are billed in 67-character segments, and nothing over 500 characters is sent.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal

from shared.platform.errors import ValidationError

DEFAULT_SIGNATURE = "【慈溪新市民】"
SINGLE_SEGMENT_CHARS = 70
MULTI_SEGMENT_CHARS = 67
MAX_CHARS = 500
OPT_OUT_SUFFIX = "回T退订"

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
SIGNATURE_SHAPE = re.compile(r"^【[^【】]{2,12}】$")


@dataclass(frozen=True)
class Rendered:
    body: str  # signature + text, exactly as billed
    billed_length: int
    segments: int


def placeholders(body: str) -> list[str]:
    """Names in order of first appearance."""
    return list(dict.fromkeys(PLACEHOLDER.findall(body)))


def segment_count(length: int) -> int:
    if length <= 0:
        return 0
    if length <= SINGLE_SEGMENT_CHARS:
        return 1
    return math.ceil(length / MULTI_SEGMENT_CHARS)


def check_personalisation(body: str, personalisation: dict) -> None:
    """Every placeholder needs a value and every value a placeholder; all problems are reported at once."""
    wanted = set(placeholders(body))
    given = set(personalisation or {})
    errors: dict[str, list[str]] = {}
    for name in sorted(wanted - given):
        errors[f"personalisation.{name}"] = [f"Missing personalisation: {name}"]
    for name in sorted(given - wanted):
        errors[f"personalisation.{name}"] = [f"Unknown personalisation: {name}"]
    for name in sorted(wanted & given):
        value = personalisation[name]
        if value is None or (isinstance(value, str) and not value.strip()):
            errors[f"personalisation.{name}"] = [f"Empty personalisation: {name}"]
    if errors:
        raise ValidationError(errors)


def render(body: str, personalisation: dict, signature: str = DEFAULT_SIGNATURE) -> Rendered:
    check_personalisation(body, personalisation)
    text = PLACEHOLDER.sub(lambda match: str(personalisation[match.group(1)]), body)
    billed = f"{signature}{text}"
    if len(billed) > MAX_CHARS:
        raise ValidationError({"body": [f"rendered message is {len(billed)} characters; the maximum is {MAX_CHARS}"]})
    return Rendered(body=billed, billed_length=len(billed), segments=segment_count(len(billed)))


def check_template(body: str, kind: str, signature: str = DEFAULT_SIGNATURE) -> list[str]:
    """Problems with a template's text (empty list: fine)."""
    problems = []
    if not body or not body.strip():
        problems.append("body must not be empty")
    if "【" in body or "】" in body:
        problems.append("the signature is added by notify; do not put 【】 in the body")
    if kind == "promotional" and not body.rstrip().endswith(OPT_OUT_SUFFIX):
        problems.append(f"a promotional template must end with {OPT_OUT_SUFFIX}")
    stripped = PLACEHOLDER.sub("", body)
    if "{" in stripped or "}" in stripped:
        problems.append("placeholders are {lower_snake_case} names")
    if len(signature) + len(stripped) > MAX_CHARS:
        problems.append(f"longer than {MAX_CHARS} characters before personalisation")
    return problems


def yuan(fen: int) -> str:
    """1234500 -> '12345', 123456 -> '1234.56': amounts as a resident reads them."""
    amount = Decimal(fen) / 100
    return f"{amount:.2f}".rstrip("0").rstrip(".") if fen % 100 else str(fen // 100)


def period_text(period: str) -> str:
    """'2026-03' -> '2026年3月'."""
    year, month = period.split("-")
    return f"{int(year)}年{int(month)}月"

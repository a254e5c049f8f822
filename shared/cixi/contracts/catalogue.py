"""Render the event catalogue (docs/events.md) from the registered contracts, so the docs cannot drift.

python -m shared.cixi.contracts.catalogue > docs/events.md
"""

from __future__ import annotations

from marshmallow import fields as mfields
from marshmallow import validate

from shared.platform.config import SERVICES
from shared.platform.contracts import EnvelopeSchema, load_all

HEADER = """# Event catalogue

Generated from `shared/cixi/contracts/` by `python -m shared.cixi.contracts.catalogue > docs/events.md`; a test
fails when this page and the contracts disagree. Every event travels in the envelope below on the
`<source>.events` topic exchange with the event type as routing key; each consumer has its own durable
queue `evt-<source>-<event_type>--<consumer>`.

Reason fields (`reason`, `reasons`, `eligibility_reasons`) carry codes out of the publisher's enumeration
(listed with each field): an event with any other code is refused when it is built. No code is ever shown to a
resident: notify words every code (`services/notify/reasons.py`; every resulting text is in
`tests/services/notify/golden/notices.txt`), and a reviewer's own words reach the resident only as
`note_for_resident`, when the reviewer marks the note for them.
"""


def describe_field(field: mfields.Field) -> str:
    kind = type(field).__name__
    if isinstance(field, mfields.List):
        kind = f"List[{type(field.inner).__name__}]"
    notes = []
    if field.required:
        notes.append("required")
    if field.allow_none:
        notes.append("nullable")
    notes += [describe_validator(validator) for validator in field.validators]
    if isinstance(field, mfields.List):
        notes += ["each " + describe_validator(validator) for validator in field.inner.validators]
    return f"{kind}" + (f" ({'; '.join(notes)})" if notes else "")


def describe_validator(validator) -> str:
    if isinstance(validator, validate.Regexp):
        return f"pattern `{validator.regex.pattern}`"
    if isinstance(validator, validate.OneOf):
        return "one of " + ", ".join(f"`{choice}`" for choice in validator.choices)
    if isinstance(validator, validate.Range | validate.Length):
        low, high = validator.min, validator.max
        word = "length" if isinstance(validator, validate.Length) else "value"
        if low is not None and high is not None:
            return f"{word} {low}–{high}"
        return f"{word} ≥ {low}" if low is not None else f"{word} ≤ {high}"
    return type(validator).__name__


def render() -> str:
    lines = [HEADER, "## Envelope", "", "| field | type |", "|---|---|"]
    for name, field in EnvelopeSchema().fields.items():
        lines.append(f"| `{name}` | {describe_field(field)} |")
    registry = load_all()
    for source in [service for service in SERVICES if registry.published_by(service)]:
        lines += ["", f"## {source}", ""]
        for contract in registry.published_by(source):
            consumers = ", ".join(contract.consumers) or "none yet"
            doc = (contract.schema.__doc__ or "").strip().splitlines()
            lines += [f"### `{contract.event_type}` v{contract.version}", ""]
            if doc and not doc[0].startswith("Base for event data"):
                lines += [" ".join(line.strip() for line in doc), ""]
            lines += [f"Consumers: {consumers}.", "", "| field | type |", "|---|---|"]
            for name, field in contract.schema().fields.items():
                lines.append(f"| `{name}` | {describe_field(field)} |")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")

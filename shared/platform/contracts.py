"""Event contracts: the envelope every event travels in and a registry of data schemas (the schemas
themselves, one module per publishing service, are Cixi's: `shared/cixi/contracts/`).

A schema is registered per (source, event_type, version) together with the services that consume it,
so the topology (exchanges and consumer queues) can be declared from the contracts before the first
publish; nameko drops an event that has no queue bound yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate
from marshmallow import ValidationError as MarshmallowValidationError

from shared.platform.clock import utcnow
from shared.platform.compiled_schema import CompiledSchema
from shared.platform.errors import ValidationError
from shared.platform.ids import new_id
from shared.platform.personal_data import mask_text

ENVELOPE_VERSION_FIELD = "version"
# The package of published contracts, one module per source. Named, not imported: the mechanism reads
# the platform's contracts without depending on the domain that writes them.
CONTRACT_PACKAGE = "shared.cixi.contracts"
CORRELATION_ID_MAX = 200  # the envelope's bound; the RPC edge refuses a caller's longer one up front
# W3C trace context's traceparent: version-trace id-parent id-flags (a later version may append fields)
TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-[!-~]*)?$"
TRACEPARENT_MAX = 256


class EnvelopeSchema(Schema):
    class Meta:
        unknown = RAISE

    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,63}$"))
    source = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,31}$"))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True)
    correlation_id = fields.String(required=True, allow_none=True, validate=validate.Length(max=CORRELATION_ID_MAX))
    data = fields.Dict(required=True)
    # optional: present when the writer was in a trace (shared/platform/tracing.py); absent, the event starts none
    traceparent = fields.String(validate=[validate.Length(max=TRACEPARENT_MAX), validate.Regexp(TRACEPARENT_PATTERN)])


_ENVELOPE = CompiledSchema(EnvelopeSchema())  # built once: building a Schema costs more than a load


@dataclass(frozen=True)
class Contract:
    source: str
    event_type: str
    version: int
    schema: type[Schema]
    consumers: tuple[str, ...] = field(default=())

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.source, self.event_type, self.version)

    def loader(self) -> Schema:
        """One schema instance per contract: building a marshmallow Schema costs more than a load."""
        schema = _SCHEMAS.get(self.key)
        if schema is None:
            schema = _SCHEMAS[self.key] = self.schema()
        return schema

    def checker(self) -> CompiledSchema:
        """The loader precompiled for the consumers' per-message check (shared/platform/compiled_schema.py)."""
        checker = _CHECKERS.get(self.key)
        if checker is None:
            checker = _CHECKERS[self.key] = CompiledSchema(self.loader())
        return checker


_SCHEMAS: dict[tuple[str, str, int], Schema] = {}
_CHECKERS: dict[tuple[str, str, int], CompiledSchema] = {}


class ContractRegistry:
    def __init__(self):
        self._contracts: dict[tuple[str, str, int], Contract] = {}

    def register(
        self, source: str, event_type: str, version: int, schema: type[Schema], consumers: tuple[str, ...] = ()
    ) -> Contract:
        contract = Contract(source, event_type, version, schema, tuple(consumers))
        if contract.key in self._contracts:
            raise ValueError(f"contract {contract.key} registered twice")
        self._contracts[contract.key] = contract
        return contract

    def get(self, source: str, event_type: str, version: int) -> Contract | None:
        return self._contracts.get((source, event_type, version))

    def latest(self, source: str, event_type: str) -> Contract | None:
        versions = [c for c in self._contracts.values() if (c.source, c.event_type) == (source, event_type)]
        return max(versions, key=lambda c: c.version, default=None)

    def all(self) -> list[Contract]:
        return sorted(self._contracts.values(), key=lambda c: c.key)

    def published_by(self, source: str) -> list[Contract]:
        return [c for c in self.all() if c.source == source]

    def consumed_by(self, consumer: str) -> list[Contract]:
        return [c for c in self.all() if consumer in c.consumers]


registry = ContractRegistry()


def register(source: str, event_type: str, version: int = 1, consumers: tuple[str, ...] = ()):
    """Class decorator: `@register("housing", "subsidy_approved", consumers=("notify", "stats"))`."""

    def decorate(schema: type[Schema]) -> type[Schema]:
        registry.register(source, event_type, version, schema, consumers)
        return schema

    return decorate


class DataSchema(Schema):
    """Base for event data: unknown keys are refused so a typo never ships silently."""

    class Meta:
        unknown = RAISE


# field metadata naming the codes a reason field may carry: notify words each one for the resident
REASON_CODES = "reason_codes"
NOTE_CHARS = 200


def reason_code(codes: tuple[str, ...], **kwargs) -> fields.String:
    """One reason code out of `codes` (the publisher's enumeration); anything else fails the contract."""
    return fields.String(validate=validate.OneOf(codes), metadata={REASON_CODES: tuple(codes)}, **kwargs)


def reason_codes(codes: tuple[str, ...], **kwargs) -> fields.List:
    return fields.List(reason_code(codes), metadata={REASON_CODES: tuple(codes)}, **kwargs)


def note_for_resident() -> fields.String:
    """A reviewer's own words the reviewer marked for the resident (masked by the publisher); None: none."""
    return fields.String(load_default=None, allow_none=True, validate=validate.Length(max=NOTE_CHARS))


def resident_note(note: str | None) -> str | None:
    """A reviewer's note as a resident may read it: no ID or phone number in it, short enough for a message."""
    if not isinstance(note, str) or not note.strip():
        return None
    return mask_text(" ".join(note.split()))[:NOTE_CHARS]


def reason_fields(contract: Contract) -> dict[str, tuple[str, ...]]:
    """{field name: its reason codes} of one contract."""
    found = {}
    for name, field_ in contract.loader().fields.items():
        if REASON_CODES in field_.metadata:
            found[name] = field_.metadata[REASON_CODES]
    return found


def build_envelope(
    source: str,
    event_type: str,
    data: dict,
    version: int | None = None,
    correlation_id: str | None = None,
    event_id: str | None = None,
    occurred_at: datetime | None = None,
    traceparent: str | None = None,
) -> dict:
    """Validate `data` against its contract and wrap it; raises ValidationError if it does not fit."""
    contract = registry.get(source, event_type, version) if version else registry.latest(source, event_type)
    if contract is None:
        raise ValidationError({"event_type": [f"no contract for {source}.{event_type} v{version or 'latest'}"]})
    schema = contract.loader()
    try:
        clean = schema.dump(schema.load(data))
    except MarshmallowValidationError as exc:
        raise ValidationError({"data": exc.messages}) from None
    envelope = {
        "event_id": event_id or new_id(),
        "event_type": event_type,
        "source": source,
        "version": contract.version,
        "occurred_at": (occurred_at or utcnow()).isoformat(),
        "correlation_id": correlation_id,
        "data": clean,
    }
    if traceparent:
        envelope["traceparent"] = traceparent
    return envelope


def validate_envelope(body: object) -> tuple[dict, dict]:
    """Return (envelope, loaded data) or raise ValidationError naming every problem."""
    if not isinstance(body, dict):
        raise ValidationError({"_envelope": [f"expected a JSON object, got {type(body).__name__}"]})
    try:
        envelope = _ENVELOPE.load(body)
    except MarshmallowValidationError as exc:
        raise ValidationError(exc.messages) from None
    contract = registry.get(envelope["source"], envelope["event_type"], envelope["version"])
    if contract is None:
        raise ValidationError(
            {"version": [f"no contract for {envelope['source']}.{envelope['event_type']} v{envelope['version']}"]}
        )
    try:
        data = contract.checker().load(envelope["data"])
    except MarshmallowValidationError as exc:
        raise ValidationError({"data": exc.messages}) from None
    envelope["event_id"] = str(envelope["event_id"])
    return envelope, data


def load_all() -> ContractRegistry:
    """Import every contract module so the registry is complete (topology, contract tests)."""
    import importlib
    import pkgutil

    package = importlib.import_module(CONTRACT_PACKAGE)
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{CONTRACT_PACKAGE}.{module.name}")
    return registry


__all__ = [
    "DataSchema",
    "EXCLUDE",
    "build_envelope",
    "fields",
    "load_all",
    "note_for_resident",
    "reason_code",
    "reason_codes",
    "reason_fields",
    "register",
    "resident_note",
    "registry",
    "validate",
    "validate_envelope",
]

"""Typed errors that reach RPC callers as `RemoteError` carrying their own type name.

nameko serialises an exception as its class name, dotted path, args and `str()`. Every class here is
registered with `deserialize_to_instance`, so a Python caller that imports `shared` gets the typed
exception back (with `.errors` for validation failures); any other caller sees the type name and a
message that names every problem.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from nameko.exceptions import deserialize_to_instance


class DomainError(Exception):
    """Base of every error a caller is meant to see and act on."""


@deserialize_to_instance
class ValidationError(DomainError):
    """Input was malformed. `errors` maps each bad field to a list of messages."""

    def __init__(self, errors: Mapping[str, Any] | str, message: str | None = None):
        if isinstance(errors, str):  # rebuilt from the wire: args[0] is the JSON mapping
            errors = json.loads(errors)
        self.errors = _flatten(errors)
        fields = ", ".join(sorted(self.errors))
        self.message = message or f"invalid fields: {fields}"
        super().__init__(json.dumps(self.errors, ensure_ascii=False, sort_keys=True))

    def __str__(self) -> str:
        detail = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in sorted(self.errors.items()))
        return f"{self.message} — {detail} {json.dumps(self.errors, ensure_ascii=False, sort_keys=True)}"


def _flatten(errors: Mapping[str, Any], prefix: str = "") -> dict[str, list[str]]:
    """marshmallow nests errors for nested fields; callers want `field.sub: [messages]`."""
    flat: dict[str, list[str]] = {}
    for key, value in errors.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, prefix=f"{name}."))
        elif isinstance(value, (list, tuple)):
            flat[name] = [str(item) for item in value]
        else:
            flat[name] = [str(value)]
    return flat


@deserialize_to_instance
class MalformedCall(ValidationError):
    """An RPC request nameko could not start a worker for: its envelope (reply address, content type, body
    shape) or its context headers are unusable. `errors` names each bad part; no domain code ran."""


@deserialize_to_instance
class NotAuthenticated(DomainError):
    """No caller token, or one that is malformed, badly signed or expired."""


@deserialize_to_instance
class Forbidden(DomainError):
    """The caller is known but may not do this."""


class MakerCheckerViolation(Forbidden):
    """The person who proposed a decision on public money or a mass message may not also approve it."""


@deserialize_to_instance
class NotFound(DomainError):
    """The thing asked for does not exist (or the caller may not know it exists)."""


@deserialize_to_instance
class Conflict(DomainError):
    """The request clashes with the current state (duplicate, wrong state, taken resource)."""


class InvalidTransition(Conflict):
    """The case is not in a state that allows this step (reviewing one not awaiting review, deciding an appeal
    not under review, activating an ended enrolment, accepting an offer that expired)."""


class PolicyMissing(DomainError):
    """No policy figure is in force for the date or year asked (the seed migration was not applied?)."""


@deserialize_to_instance
class BeforeSchemeStart(DomainError):
    """The question is dated before the scheme began: the message names the date it begins, and `starts_on`
    carries it (ISO) for a caller that wants to offer that date instead."""

    def __init__(self, message: str, starts_on: str | None = None):
        super().__init__(message, starts_on)
        self.message, self.starts_on = message, starts_on

    def __str__(self) -> str:
        return self.message


@deserialize_to_instance
class InternalError(DomainError):
    """Something unexpected failed inside the service; the message carries only a reference to quote."""


class PermanentError(Exception):
    """Raised inside an event handler: retrying cannot help, dead-letter the message at once."""

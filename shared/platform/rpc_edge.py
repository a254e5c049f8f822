"""What an RPC request must be before nameko may start a worker for it: the checks, each naming a problem.

nameko trusts the request. A `nameko.call_id_stack` that is not a list of text raised TypeError in the
worker's start-up (`'->'.join(stack)`), and a request without `reply_to` raised KeyError while nameko
answered it; either escaped into the container, which killed the whole service, and the request, never
acked, killed every restart. Context headers also travel on into everything the call does: a correlation id
longer than the event envelope allows would make every event the call causes dead-letter at its consumers,
and one carrying line breaks, control or bidirectional-override characters would be written as it came into
the audit trail, every event envelope and every log line of the call.

Identifiers are refused, not repaired: a correlation id exists to be searched for in another system's logs,
and a truncated or rewritten one would match nothing there while looking valid (docs/security.md).

A problem is described by type and size only, never by the value (which may be personal data, or huge).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from nameko.constants import DEFAULT_PARENT_CALLS_TRACKED, HEADER_PREFIX

from shared.platform.contracts import CORRELATION_ID_MAX

JSON = "application/json"
CALL_ID_STACK = f"{HEADER_PREFIX}.call_id_stack"
# the events' and the audit trail's correlation id: this when given, else the stack's root (shared.platform.outbox)
CORRELATION_ID = f"{HEADER_PREFIX}.correlation_id"
MAX_CALL_IDS = DEFAULT_PARENT_CALLS_TRACKED + 1  # what nameko itself forwards: the parents tracked and this call
MAX_HEADERS = 32
# nameko's other context headers and ours
TEXT_HEADERS = {
    f"{HEADER_PREFIX}.authorization": 8192,
    f"{HEADER_PREFIX}.language": 64,
    f"{HEADER_PREFIX}.user_agent": 512,
    f"{HEADER_PREFIX}.user_id": 200,
}
# visible ASCII: what nameko's call ids, UUIDs and W3C trace ids are made of; nothing that can break a line,
# hide itself or reorder text in a log or a report
IDENTIFIER = re.compile(rf"[!-~]{{1,{CORRELATION_ID_MAX}}}")
IDENTIFIER_RULE = f"1–{CORRELATION_ID_MAX} visible ASCII characters (no spaces or control characters)"
# what nameko's reply listeners bind their queue with and send as `reply_to`; the broker lets a service reply
# only to such a key (shared/platform/broker_access.py), so a request carrying any other could never be answered
REPLY_KEY = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
OTHER_HEADER_MAX_LENGTH = 256  # every header becomes context data and goes on with each call the worker makes


def unanswerable(message) -> str | None:
    """Why no reply can reach the caller, or None: it needs the address and the id it matches replies by."""
    missing = [key for key in ("reply_to", "correlation_id") if not _text(message.properties.get(key))]
    if missing:
        return f"no {' and no '.join(missing)}"
    if not REPLY_KEY.fullmatch(message.properties["reply_to"]):
        return "reply_to is not a reply queue's key (a UUID)"
    return None


def content_problems(message) -> dict[str, list[str]]:
    if message.content_type != JSON:
        return {"content_type": [f"must be {JSON}."]}
    return {}


def body_problems(body) -> dict[str, list[str]]:
    if not isinstance(body, Mapping):
        return {"body": [f"must be a JSON object with args and kwargs; got {_kind(body)}."]}
    problems = {}
    if not isinstance(body.get("args"), list):
        problems["body.args"] = [f"must be a list; got {_kind(body.get('args'))}."]
    if not isinstance(body.get("kwargs"), Mapping):
        problems["body.kwargs"] = [f"must be an object; got {_kind(body.get('kwargs'))}."]
    return problems


def header_problems(headers: Mapping) -> dict[str, list[str]]:
    if len(headers) > MAX_HEADERS:
        return {"headers": [f"at most {MAX_HEADERS}; got {len(headers)}."]}
    problems = {}
    for name, value in headers.items():
        if name == CALL_ID_STACK:
            problem = _call_id_stack_problem(value)
        elif name == CORRELATION_ID:
            problem = _identifier_problem(value)
        elif name in TEXT_HEADERS:
            problem = _text_problem(value, TEXT_HEADERS[name])
        else:
            problem = _other_problem(value)
        if problem:
            problems[str(name)[:64]] = [problem]
    return problems


def request_problems(body, message) -> dict[str, list[str]]:
    """Everything wrong with a decoded request; empty when nameko may start a worker for it."""
    return content_problems(message) | body_problems(body) | header_problems(message.headers or {})


def _call_id_stack_problem(value) -> str | None:
    wanted = f"must be a list of at most {MAX_CALL_IDS} call ids, each {IDENTIFIER_RULE}"
    if not isinstance(value, list):
        return f"{wanted}; got {_kind(value)}."
    if len(value) > MAX_CALL_IDS:
        return f"{wanted}; got {len(value)} entries."
    if not all(_identifier(entry) for entry in value):
        return f"{wanted}; got an entry that is not."
    return None


def _identifier_problem(value) -> str | None:
    if _identifier(value):
        return None
    size = f"{len(value)} characters" if isinstance(value, str) else _kind(value)
    return f"must be {IDENTIFIER_RULE}; got {size}."


def _identifier(value) -> bool:
    return isinstance(value, str) and IDENTIFIER.fullmatch(value) is not None


def _text_problem(value, limit: int) -> str | None:
    if not isinstance(value, str):
        return f"must be text; got {_kind(value)}."
    if len(value) > limit:
        return f"must be at most {limit} characters; got {len(value)}."
    return None


def _other_problem(value) -> str | None:
    if isinstance(value, bool | int | float):
        return None
    return _text_problem(value, OTHER_HEADER_MAX_LENGTH)


def _text(value, limit: int = 255) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit


def _kind(value) -> str:
    return "nothing" if value is None else type(value).__name__

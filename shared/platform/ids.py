"""The one way the platform makes an id: a random UUID as text (36 characters, the `String(36)` columns).

Rows, events, leases, caller tokens and error references all take theirs from `new_id()`; an id never
carries meaning (no time, no sequence, no person), so nothing can be read from one."""

from __future__ import annotations

import uuid


def new_id() -> str:
    return str(uuid.uuid4())

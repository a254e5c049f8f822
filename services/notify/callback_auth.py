"""Signed provider callbacks: the gateway signs each push, notify refuses any it cannot verify.

    X-Timestamp: 1767225600
    X-Signature: hex(HMAC-SHA256(key, "<timestamp>." + raw body))

The key is the gateway key both sides already share (`SMS_GATEWAY_KEY`). The MAC covers the timestamp,
and a push older or newer than `TOLERANCE_SECONDS` is refused, so a captured receipt cannot be replayed
later. Replays inside the window change nothing: applying a receipt twice is a no-op (stale attempt).
The fake gateway signs with `sign_headers`; notify's callbacks check with `verify`.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Timestamp"
TOLERANCE_SECONDS = 300


def signature(key: str, timestamp: str, body: bytes) -> str:
    return hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def sign_headers(key: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(key, timestamp, body)}


def verify(key: str, body: bytes, headers, now: float | None = None, tolerance: float = TOLERANCE_SECONDS) -> bool:
    """True only for a body signed with `key` at a time within `tolerance` of now. No key: nothing verifies."""
    timestamp = headers.get(TIMESTAMP_HEADER) or ""
    given = headers.get(SIGNATURE_HEADER) or ""
    if not key or not timestamp.isdigit() or len(timestamp) > 12 or not given:
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(
        signature(key, timestamp, body).encode(), given.strip().lower().encode("utf-8", "replace")
    )

"""Signed provider callbacks: the sender signs each push, notify refuses any it cannot verify.

    X-Timestamp: 1767225600                       (Unix seconds)
    X-Nonce:     3f1c0e9a6b2d4c8e9f7a1b2c3d4e5f60 (16–64 of A–Z a–z 0–9 _ -, new for every push)
    X-Signature: v1=hex(HMAC-SHA256(key, "v1\\n<timestamp>\\n<nonce>\\n<METHOD>\\n<path>\\n" + raw body))

The MAC covers the method and the path as well as the body, so a push signed for one endpoint is no good
at another (an inbound reply replayed as a receipt), and the timestamp, so a push older or newer than
`TOLERANCE_SECONDS` is refused. Inside that window the nonce is what makes a push single-use: notify
remembers every nonce it accepted until its timestamp is out of the window (`callback_guard`). A sender
that retries signs again, with a new nonce.

Each channel has its own key (`CHANNEL_KEYS`): the SMS gateway's is the key it already shares with notify,
WeChat's relay has another, so neither can forge the other's receipts. The fake gateway signs with
`sign_headers`; notify checks with `verify`, which never raises on anything a sender can put in a header.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

SCHEME = "v1"
SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Timestamp"
NONCE_HEADER = "X-Nonce"
TOLERANCE_SECONDS = 300
CHANNEL_KEYS = {"sms": "SMS_GATEWAY_KEY", "wechat": "WECHAT_CALLBACK_KEY"}
TIMESTAMP = re.compile(r"[0-9]{1,12}")
NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
SIGNATURE = re.compile(rf"{SCHEME}=([0-9a-f]{{64}})")


@dataclass(frozen=True)
class Verified:
    """A push that verified: what makes it single-use, and until when it could verify again."""

    nonce: str
    expires_at: int  # Unix seconds


def signature(key: str, timestamp: str, nonce: str, method: str, path: str, body: bytes) -> str:
    signed = "\n".join((SCHEME, timestamp, nonce, method.upper(), path)).encode() + b"\n" + body
    return hmac.new(key.encode(), signed, hashlib.sha256).hexdigest()


def sign_headers(
    key: str, method: str, path: str, body: bytes, now: float | None = None, nonce: str | None = None
) -> dict[str, str]:
    timestamp = str(int(time.time() if now is None else now))
    nonce = nonce or secrets.token_hex(16)
    mac = signature(key, timestamp, nonce, method, path, body)
    return {TIMESTAMP_HEADER: timestamp, NONCE_HEADER: nonce, SIGNATURE_HEADER: f"{SCHEME}={mac}"}


def verify(
    key: str,
    method: str,
    path: str,
    body: bytes,
    headers,
    now: float | None = None,
    tolerance: float = TOLERANCE_SECONDS,
) -> Verified | None:
    """The push's nonce when it is signed with `key` for this method and path at a time within `tolerance` of
    now; otherwise None. No key: nothing verifies."""
    timestamp = _header(headers, TIMESTAMP_HEADER, TIMESTAMP)
    nonce = _header(headers, NONCE_HEADER, NONCE)
    given = _header(headers, SIGNATURE_HEADER, SIGNATURE)
    if not key or timestamp is None or nonce is None or given is None:
        return None
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return None
    expected = f"{SCHEME}={signature(key, timestamp, nonce, method, path, body)}"
    if not hmac.compare_digest(expected.encode(), given.encode()):
        return None
    return Verified(nonce, int(timestamp) + int(tolerance) + 1)


def _header(headers, name: str, form: re.Pattern) -> str | None:
    """The header's value when it has exactly the form expected (explicit ASCII ranges: `str.isdigit` takes
    "²", which `int` then refuses)."""
    value = headers.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if form.fullmatch(value) else None

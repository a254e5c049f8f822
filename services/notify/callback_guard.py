"""Which signed callbacks notify acts on: signed with the channel's key for this method and path, fresh,
and never seen before (`callback_auth` says what a signature is).

The replay store is notify's database (`callback_nonces`), not process memory: notify runs as several
replicas behind one Service, so a push replayed to another pod would find an empty memory there. A nonce
is recorded, and committed, before the push is acted on, so two copies sent at once cannot both pass; a
push that fails after that is not retried under the same nonce (the sender signs a retry afresh).
"""

from __future__ import annotations

import time

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.notify.callback_auth import CHANNEL_KEYS, Verified, verify
from services.notify.models import CallbackNonce

PATH_CHANNELS = {
    "/callbacks/sms/receipts": "sms",
    "/callbacks/sms/inbound": "sms",
    "/callbacks/wechat/receipts": "wechat",
}


def refusal(config: dict, session: Session, request, now: float | None = None) -> str | None:
    """Why this push must be answered 401, or None when it may be acted on (its nonce is then spent)."""
    now = time.time() if now is None else now
    channel = PATH_CHANNELS.get(request.path)
    if channel is None:
        return "no signed callback here"
    key = str(config.get(CHANNEL_KEYS[channel]) or "")
    verified = verify(key, request.method, request.path, request.get_data(cache=True), request.headers, now=now)
    if verified is None:
        return "unsigned, forged or stale callback"
    if not spend(session, channel, verified, now):
        return "replayed callback"
    return None


def spend(session: Session, channel: str, verified: Verified, now: float) -> bool:
    """Record the nonce; False when it was recorded before. Nonces whose window has closed are dropped."""
    session.execute(delete(CallbackNonce).where(CallbackNonce.expires_at < int(now)))
    session.add(CallbackNonce(nonce=verified.nonce, channel=channel, expires_at=verified.expires_at))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True

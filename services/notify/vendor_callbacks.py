"""Receipts and replies as Alibaba Cloud and Tencent Cloud push them, on notify's HTTP port.

    POST /callbacks/aliyun/<token>/report   SmsReport: [{phone_number, success, err_code, biz_id, out_id, …}]
    POST /callbacks/aliyun/<token>/up       SmsUp:     [{phone_number, content, send_time, dest_code, sequence_id}]
    POST /callbacks/tencent/<token>/status  status:    [{mobile, report_status, errmsg, sid, …}]
    POST /callbacks/tencent/<token>/reply   reply:     {mobile, text, sign, nationcode, time, extend}

Neither vendor signs its pushes, so each endpoint is guarded by a secret path token (`<PROVIDER>_CALLBACK_TOKEN`,
the URL entered in the vendor's console) and, optionally, the vendor's source addresses
(`<PROVIDER>_CALLBACK_SOURCES`, comma-separated CIDRs). A wrong token is a 404, as for any unknown URL.
Each is answered the way its vendor expects, or the vendor pushes again.
"""

from __future__ import annotations

import hmac
import ipaddress

KINDS = {"aliyun": {"report": "receipts", "up": "replies"}, "tencent": {"status": "receipts", "reply": "replies"}}
ACKNOWLEDGEMENT = {"aliyun": {"code": 0, "msg": "成功"}, "tencent": {"result": 0, "errmsg": "OK"}}


def what(provider: str, kind: str) -> str | None:
    """ "receipts" | "replies" for a known endpoint, else None."""
    return KINDS.get(provider, {}).get(kind)


def admitted(config: dict, provider: str, token: str, remote_addr: str | None) -> bool:
    """The path token matches the configured one (no token configured: nothing is admitted) and the push comes
    from an allowed address (none configured: any)."""
    prefix = provider.upper()
    expected = str(config.get(f"{prefix}_CALLBACK_TOKEN") or "")
    if not expected or not hmac.compare_digest(expected.encode(), str(token).encode()):
        return False
    sources = [s.strip() for s in str(config.get(f"{prefix}_CALLBACK_SOURCES") or "").split(",") if s.strip()]
    if not sources:
        return True
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(source, strict=False) for source in sources)


def replies(provider: str, items: list[dict]) -> list[tuple[str, str]]:
    """(mobile, text) of each pushed reply."""
    if provider == "aliyun":
        return [(str(item.get("phone_number", "")), str(item.get("content", ""))) for item in items]
    return [(str(item.get("mobile", "")), str(item.get("text", ""))) for item in items]

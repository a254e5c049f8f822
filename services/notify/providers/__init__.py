"""Provider adapters: one small module per way out, behind `base.Provider`, built from config here.

`SMS_PROVIDER` names one SMS provider or several in priority order (`aliyun,tencent`): log | gateway |
aliyun | tencent. `WECHAT_PROVIDER`: log | wechat.
"""

from __future__ import annotations

from services.notify import metrics, statuses
from services.notify.providers.base import LogProvider, Outgoing, Provider, Submission
from services.notify.providers.routing import Failover, SmsRoute

__all__ = ["Outgoing", "Provider", "Submission", "SmsRoute", "build_providers", "sms_provider_names"]

DEFAULT_SIGNATURE = "【慈溪新市民】"


def sms_provider_names(config: dict) -> list[str]:
    return [name.strip() for name in str(config.get("SMS_PROVIDER") or "log").split(",") if name.strip()]


def _timeout(config: dict) -> float:
    return float(config.get("SMS_GATEWAY_TIMEOUT_SECONDS") or 10)


def _sms_provider(kind: str, config: dict) -> Provider:
    if kind == "log":
        return LogProvider(statuses.SMS)
    if kind == "gateway":
        from services.notify.providers.gateway import HttpSmsGateway

        return HttpSmsGateway(
            str(config["SMS_GATEWAY_URL"]),
            str(config.get("SMS_GATEWAY_KEY") or ""),
            str(config.get("SMS_SIGNATURE") or DEFAULT_SIGNATURE),
            timeout=_timeout(config),
        )
    if kind == "aliyun":
        from services.notify.providers.aliyun import DEFAULT_ENDPOINT, AliyunSms

        return AliyunSms(
            str(config.get("ALIYUN_ACCESS_KEY_ID") or ""),
            str(config.get("ALIYUN_ACCESS_KEY_SECRET") or ""),
            str(config.get("ALIYUN_SIGN_NAME") or "慈溪新市民"),
            str(config.get("ALIYUN_ENDPOINT") or DEFAULT_ENDPOINT),
            timeout=_timeout(config),
        )
    if kind == "tencent":
        from services.notify.providers.tencent import DEFAULT_ENDPOINT, TencentSms

        return TencentSms(
            str(config.get("TENCENT_SECRET_ID") or ""),
            str(config.get("TENCENT_SECRET_KEY") or ""),
            str(config.get("TENCENT_SDK_APP_ID") or ""),
            str(config.get("TENCENT_SIGN_NAME") or "慈溪新市民"),
            str(config.get("TENCENT_ENDPOINT") or DEFAULT_ENDPOINT),
            timeout=_timeout(config),
            lost_answer_settle=float(config.get("TENCENT_LOST_ANSWER_SETTLE_SECONDS", 600)),
        )
    raise ValueError(f"unknown SMS_PROVIDER {kind!r}")


def build_providers(config: dict) -> dict[str, Provider]:
    """The provider per channel, as configured: SMS through an `SmsRoute` over the named providers."""
    policy = Failover(
        window=float(config.get("SMS_FAILOVER_WINDOW_SECONDS") or Failover.window),
        threshold=float(config.get("SMS_FAILOVER_THRESHOLD") or Failover.threshold),
        min_results=int(config.get("SMS_FAILOVER_MIN_RESULTS") or Failover.min_results),
        cooldown=float(config.get("SMS_FAILOVER_COOLDOWN_SECONDS") or Failover.cooldown),
    )
    sms_providers = [_sms_provider(kind, config) for kind in sms_provider_names(config)]
    for provider in sms_providers:
        metrics.status_series(statuses.SMS, provider.name)
        if getattr(provider, "ACCOUNT_CODES", None):
            metrics.account_series(provider.name)
    sms = SmsRoute(sms_providers, policy)
    wechat_kind = str(config.get("WECHAT_PROVIDER") or "log")
    if wechat_kind == "wechat":
        from services.notify.providers.wechat import WeChatTemplateMessage

        wechat: Provider = WeChatTemplateMessage(
            str(config["WECHAT_API_URL"]),
            str(config.get("WECHAT_APP_ID") or ""),
            str(config.get("WECHAT_SECRET") or ""),
        )
    elif wechat_kind == "log":
        wechat = LogProvider(statuses.WECHAT)
    else:
        raise ValueError(f"unknown WECHAT_PROVIDER {wechat_kind!r}")
    return {statuses.SMS: sms, statuses.WECHAT: wechat}

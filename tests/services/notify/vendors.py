"""Settings that point notify's Alibaba and Tencent adapters at the fake gateway, with the credentials and
callback tokens the fake knows by default (its --aliyun-*/--tencent-* flags)."""

ALIYUN = {
    "ALIYUN_ACCESS_KEY_ID": "dev-aliyun-key-id",
    "ALIYUN_ACCESS_KEY_SECRET": "dev-aliyun-key-secret",
    "ALIYUN_SIGN_NAME": "慈溪新市民",
    "ALIYUN_CALLBACK_TOKEN": "dev-aliyun-callback",
}
TENCENT = {
    "TENCENT_SECRET_ID": "dev-tencent-secret-id",
    "TENCENT_SECRET_KEY": "dev-tencent-secret-key",
    "TENCENT_SDK_APP_ID": "1400000000",
    "TENCENT_SIGN_NAME": "慈溪新市民",
    "TENCENT_CALLBACK_TOKEN": "dev-tencent-callback",
}
# transactional notices go at any hour anyway; "00:00-00:00" is no quiet window, so no test here depends on
# the hour it runs at
NO_QUIET_HOURS = {"QUIET_HOURS": "00:00-00:00"}


def vendor_config(*providers: str, **overrides) -> dict:
    """Overrides for `start_notify`: SMS through `providers` in priority order."""
    settings = {"SMS_PROVIDER": ",".join(providers), **NO_QUIET_HOURS, **ALIYUN, **TENCENT}
    return {**settings, **overrides}

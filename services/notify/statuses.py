"""The notification status taxonomy, as GOV.UK Notify's: one place decides what is final and what retries.

created ──► sending ──► delivered
   ▲           │
   │           ├──► temporary-failure ──(retry with backoff, up to a limit)──► created … / final
   │           ├──► permanent-failure  (final; WeChat fallback if the resident has an openid)
   └───────────┴──► technical-failure  (our side or the provider's API failed; retried, then final)
"""

CREATED = "created"
SENDING = "sending"
DELIVERED = "delivered"
TEMPORARY_FAILURE = "temporary-failure"
PERMANENT_FAILURE = "permanent-failure"
TECHNICAL_FAILURE = "technical-failure"

ALL = (CREATED, SENDING, DELIVERED, TEMPORARY_FAILURE, PERMANENT_FAILURE, TECHNICAL_FAILURE)
FAILURES = (TEMPORARY_FAILURE, PERMANENT_FAILURE, TECHNICAL_FAILURE)
FINAL = (DELIVERED, *FAILURES)  # final unless `not_before` is set on a temporary/technical failure (a retry)
IN_FLIGHT = (CREATED, SENDING)

TRANSACTIONAL = "transactional"
PROMOTIONAL = "promotional"
KINDS = (TRANSACTIONAL, PROMOTIONAL)

SMS = "sms"
WECHAT = "wechat"
CHANNELS = (SMS, WECHAT)

AWAITING_CONTACT = "awaiting-contact"
QUIET_HOURS = "quiet-hours"
DAILY_CAP = "daily-cap"

"""Events published by notify. No phone number travels: the recipient is named by `resident_id` only."""

from shared.platform.contracts import DataSchema, fields, register, validate

CHANNELS = ("sms", "wechat")
KINDS = ("transactional", "promotional")
FAILURE_STATUSES = ("temporary-failure", "permanent-failure", "technical-failure")

STATS = ("stats",)


class _Notification(DataSchema):
    notification_id = fields.String(required=True)
    resident_id = fields.String(required=True, validate=validate.Length(min=8, max=64))
    template_id = fields.String(required=True)
    template_version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    segments = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=8))
    source_event_id = fields.String(required=True, allow_none=True)


@register("notify", "notification_sent", consumers=STATS)
class NotificationSent(_Notification):
    """Handed to a provider (SMS gateway, WeChat or the log provider)."""

    sent_at = fields.AwareDateTime(required=True)


@register("notify", "notification_delivered", consumers=STATS)
class NotificationDelivered(_Notification):
    delivered_at = fields.AwareDateTime(required=True)


@register("notify", "notification_failed", consumers=STATS)
class NotificationFailed(_Notification):
    """A final failure: no more retries. `fallback` says whether a WeChat message was queued instead."""

    status = fields.String(required=True, validate=validate.OneOf(FAILURE_STATUSES))
    reason = fields.String(required=True, validate=validate.Length(max=200))
    fallback = fields.Boolean(required=True)
    failed_at = fields.AwareDateTime(required=True)

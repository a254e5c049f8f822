"""The appeal events every service with appealable cases publishes (see shared/cixi/appeals.py).

A person travels as `resident_id`; reasons are masked; the statement never leaves the service.
"""

from shared.platform.contracts import DataSchema, fields, register, validate


class AppealReceived(DataSchema):
    """An appeal (复核申请) against a refusal was lodged; it is due by `due_on` (Asia/Shanghai)."""

    appeal_id = fields.String(required=True)
    case_type = fields.String(required=True, validate=validate.Length(min=1, max=50))
    case_id = fields.String(required=True)
    resident_id = fields.String(required=True, validate=validate.Length(min=8, max=64))
    # for a child's case, the parent who applied (the one to notify)
    guardian_resident_id = fields.String(required=True, allow_none=True, validate=validate.Length(min=8, max=64))
    town = fields.String(required=True, allow_none=True)
    received_at = fields.AwareDateTime(required=True)
    due_on = fields.Date(required=True)


class AppealDecided(AppealReceived):
    """An appeal was decided with its reasons; upheld reverses the refusal through the normal path."""

    decided_at = fields.AwareDateTime(required=True)
    reasons = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


def register_appeal_events(source: str, consumers: tuple[str, ...]) -> None:
    register(source, "appeal_received", consumers=consumers)(AppealReceived)
    for outcome in ("upheld", "dismissed"):
        register(source, f"appeal_{outcome}", consumers=consumers)(AppealDecided)

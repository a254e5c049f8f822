"""marshmallow schemas of notify's RPC input, and the dicts it answers with."""

from __future__ import annotations

from datetime import UTC, datetime

from marshmallow import RAISE, Schema, fields, validate

from services.notify import statuses
from services.notify.models import Notification, Template
from services.notify.templating import placeholders
from shared.platform.personal_data import mask_text
from shared.platform.validation import Text

TEMPLATE_ID = validate.Regexp(r"[a-z][a-z0-9_]{1,63}\Z", error="lower_snake_case, 2–64 characters")


def resident_id(**kwargs) -> Text:
    return Text(min_length=8, max_length=64, **kwargs)


def phone(**kwargs) -> Text:
    return Text(max_length=24, **kwargs)  # normalised (and refused if not a mobile) where it is used


def openid(**kwargs) -> Text:
    return Text(min_length=6, max_length=64, **kwargs)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class ContactSchema(_Strict):
    resident_id = resident_id(required=True)
    phone = phone(load_default=None)
    wechat_openid = openid(load_default=None)
    town = Text(load_default=None, max_length=20)
    category = Text(load_default=None, max_length=40)
    preferred_channel = fields.String(load_default=None, validate=validate.OneOf(statuses.CHANNELS))
    promo_consent = fields.Boolean(load_default=None)


class PreferencesSchema(_Strict):
    resident_id = resident_id(required=True)
    preferred_channel = fields.String(load_default=None, validate=validate.OneOf(statuses.CHANNELS))
    promo_consent = fields.Boolean(load_default=None)
    wechat_openid = openid(load_default=None)


class ListSchema(_Strict):
    resident_id = resident_id(load_default=None)
    phone = phone(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(statuses.ALL))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class TemplateSchema(_Strict):
    template_id = fields.String(required=True, validate=TEMPLATE_ID)
    name = Text(required=True, min_length=1, max_length=100)
    kind = fields.String(required=True, validate=validate.OneOf(statuses.KINDS))
    body = Text(required=True, min_length=1, max_length=500, multiline=True)
    wechat_template_id = Text(load_default=None, max_length=64)
    # {provider: {"code", "variables": [names in the provider's order], "allow_links"}}, checked by catalogue
    provider_templates = fields.Dict(keys=fields.String(), values=fields.Dict(), load_default=None)


class TemplateUpdateSchema(_Strict):
    template_id = fields.String(required=True, validate=TEMPLATE_ID)
    name = Text(load_default=None, min_length=1, max_length=100)
    body = Text(load_default=None, min_length=1, max_length=500, multiline=True)
    wechat_template_id = Text(load_default=None, max_length=64)
    provider_templates = fields.Dict(keys=fields.String(), values=fields.Dict(), load_default=None)
    active = fields.Boolean(load_default=None)


class BroadcastSchema(_Strict):
    template_id = fields.String(required=True, validate=TEMPLATE_ID)
    segment = fields.Dict(keys=Text(max_length=20), values=fields.Raw(), required=True, validate=validate.Length(max=5))
    personalisation = fields.Dict(
        keys=Text(max_length=64), values=Text(max_length=500), load_default=dict, validate=validate.Length(max=50)
    )


class BroadcastDecisionSchema(_Strict):
    reason = Text(required=True, min_length=2, max_length=500)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()  # SQLite hands back naive UTC


def notification_dict(n: Notification) -> dict:
    """What staff see: the text as billed, the number masked, never the number itself."""
    return {
        "id": n.id,
        "resident_id": n.resident_id,
        "channel": n.channel,
        "kind": n.kind,
        "template_id": n.template_id,
        "template_version": n.template_version,
        "body": mask_text(n.body),
        "billed_length": n.billed_length,
        "segments": n.segments,
        "phone": n.phone_masked,
        "status": n.status,
        "hold_reason": n.hold_reason,
        "failure_reason": n.failure_reason,
        "retry_at": iso(n.next_attempt_at) if n.status in statuses.FAILURES else None,
        "attempts": n.attempts,
        "provider": n.provider,
        "source_event_id": n.source_event_id,
        "broadcast_id": n.broadcast_id,
        "fallback_of": n.fallback_of,
        "created_at": iso(n.created_at),
        "sent_at": iso(n.sent_at),
        "completed_at": iso(n.completed_at),
    }


def template_dict(t: Template, provider_templates: dict | None = None) -> dict:
    return {
        "template_id": t.template_id,
        "version": t.version,
        "name": t.name,
        "kind": t.kind,
        "body": t.body,
        "placeholders": placeholders(t.body),
        "wechat_template_id": t.wechat_template_id,
        "provider_templates": provider_templates or {},
        "active": t.active,
        "created_by": t.created_by,
        "created_at": iso(t.created_at),
    }

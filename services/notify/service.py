"""The notify service's entrypoints: each checks its input, calls one verb of `self.desk` (`desk.Desk`) and
returns what the verb returns. The event consumers are subscribed from `subscriptions.HANDLERS` below the
class; delivery runs in the courier's loops (`dependencies`, `delivery`), not here."""

from __future__ import annotations

import json

from werkzeug.wrappers import Response

from services.notify import broadcasts, callback_guard, gauges, retention, statuses, subscriptions, vendor_callbacks
from services.notify.dependencies import Courier
from services.notify.desk import Desk
from services.notify.models import Broadcast, Job
from services.notify.schemas import (
    BroadcastDecisionSchema,
    BroadcastSchema,
    ContactSchema,
    ListSchema,
    PreferencesSchema,
    TemplateSchema,
    TemplateUpdateSchema,
)
from shared.platform.audit import Audit, AuditedCase
from shared.platform.auth import require_acting_for, requires
from shared.platform.batch_consumer import subscribe
from shared.platform.clock import Clock
from shared.platform.db import Database
from shared.platform.jobs import JobRunner
from shared.platform.outbox import Outbox
from shared.platform.personal_data_provider import Pii
from shared.platform.rpc import rpc
from shared.platform.service import PlatformService
from shared.platform.unit_of_work import Application
from shared.platform.validation import load
from shared.platform.web import error_response, http, json_response

STAFF = ("admin", "caseworker", "reviewer")


class NotifyService(PlatformService):
    name = "notify"
    retention_rules = retention.RULES

    db = Database()
    outbox = Outbox()
    pii = Pii()
    clock = Clock()
    jobs = JobRunner(Job, {broadcasts.RECORDING_JOB: broadcasts.RECORDING_KIND})
    courier = Courier()
    desk = Application(Desk)
    audit = Audit({Broadcast: AuditedCase("broadcast", ("rejected_reason",))})

    # events consumed: subscribed from `subscriptions.HANDLERS` below the class

    # --- notifications -----------------------------------------------------------------------------

    @rpc(read_only=True)
    @requires(*STAFF)
    def list_notifications(self, resident_id=None, phone=None, status=None, limit=50) -> list[dict]:
        args = load(ListSchema(), {"resident_id": resident_id, "phone": phone, "status": status, "limit": limit})
        return self.desk.list_notifications(args)

    @rpc(read_only=True)
    @requires(*STAFF)
    def get_notification(self, notification_id: str) -> dict:
        return self.desk.get_notification(notification_id)

    # --- contacts and preferences ------------------------------------------------------------------

    @rpc
    @requires("caseworker")
    def upsert_contact(self, resident_id, phone=None, wechat_openid=None, town=None, category=None,
                       preferred_channel=None, promo_consent=None) -> dict:  # fmt: skip
        return self.desk.upsert_contact(load(ContactSchema(), {
            "resident_id": resident_id, "phone": phone, "wechat_openid": wechat_openid, "town": town,
            "category": category, "preferred_channel": preferred_channel, "promo_consent": promo_consent,
        }))  # fmt: skip

    @rpc
    @requires("caseworker", "resident")
    def set_preferences(self, resident_id, preferred_channel=None, promo_consent=None, wechat_openid=None) -> dict:
        """A caseworker, or the resident themself (a `resident` token whose subject is their resident_id)."""
        require_acting_for(self.auth.caller, resident_id)
        return self.desk.set_preferences(load(PreferencesSchema(), {
            "resident_id": resident_id, "preferred_channel": preferred_channel, "promo_consent": promo_consent,
            "wechat_openid": wechat_openid,
        }))  # fmt: skip

    @rpc(read_only=True)
    @requires(*STAFF)
    def get_contact(self, resident_id) -> dict:
        return self.desk.get_contact(resident_id)

    def refresh_gauges(self) -> None:
        gauges.refresh(self.db)

    # --- templates ---------------------------------------------------------------------------------

    @rpc(read_only=True)
    @requires(*STAFF)
    def list_templates(self) -> list[dict]:
        return self.desk.list_templates()

    @rpc(read_only=True)
    @requires(*STAFF)
    def get_template(self, template_id, version=None) -> dict:
        return self.desk.get_template(template_id, version)

    @rpc
    @requires("admin")
    def create_template(self, template_id, name, kind, body, wechat_template_id=None, provider_templates=None) -> dict:
        data = load(TemplateSchema(), {
            "template_id": template_id, "name": name, "kind": kind, "body": body,
            "wechat_template_id": wechat_template_id, "provider_templates": provider_templates,
        })  # fmt: skip
        return self.desk.create_template(data, self.auth.caller.subject)

    @rpc
    @requires("admin")
    def update_template(self, template_id, name=None, body=None, wechat_template_id=None, active=None,
                        provider_templates=None) -> dict:  # fmt: skip
        data = load(TemplateUpdateSchema(), {
            "template_id": template_id, "name": name, "body": body, "wechat_template_id": wechat_template_id,
            "active": active, "provider_templates": provider_templates,
        })  # fmt: skip
        return self.desk.update_template(data, self.auth.caller.subject)

    @rpc(read_only=True)
    @requires(*STAFF)
    def preview_template(self, template_id, personalisation=None, version=None) -> dict:
        return self.desk.preview_template(template_id, personalisation or {}, version)

    # --- broadcasts --------------------------------------------------------------------------------

    @rpc
    @requires("admin")
    def broadcast(self, template_id, segment, personalisation=None) -> dict:
        args = load(BroadcastSchema(), {"template_id": template_id, "segment": segment,
                                      "personalisation": personalisation or {}})  # fmt: skip
        return self.desk.broadcast(args, self.auth.caller.subject)

    @rpc
    @requires("admin")
    def approve_broadcast(self, broadcast_id) -> dict:
        """The second admin's approval of a broadcast `awaiting_approval`; its author may not give it."""
        return self.desk.decide_broadcast(broadcast_id, True, self.auth.caller.subject)

    @rpc
    @requires("admin")
    def reject_broadcast(self, broadcast_id, reason) -> dict:
        args = load(BroadcastDecisionSchema(), {"reason": reason})
        return self.desk.decide_broadcast(broadcast_id, False, self.auth.caller.subject, args["reason"])

    @rpc(read_only=True)
    @requires(*STAFF)
    def get_broadcast(self, broadcast_id) -> dict:
        return self.desk.get_broadcast(broadcast_id)

    # --- provider callbacks (HTTP) -----------------------------------------------------------------

    def _callback_body(self, request) -> list[dict] | Response:
        """The pushed items, or the refusal: 401 unless signed with the channel's key and never seen before
        (see callback_guard), then as `_pushed_items`."""
        if refused := callback_guard.refusal(self.config, self.db, request):
            return error_response(401, refused)
        return self._pushed_items(request)

    @staticmethod
    def _pushed_items(request) -> list[dict] | Response:
        """415 for anything but JSON, 400 for JSON that is not an object or a list of objects."""
        raw = request.get_data(cache=True)
        if request.mimetype != "application/json":
            return error_response(415, "expected application/json")
        try:
            body = json.loads(raw or b"[]")
        except ValueError:
            return error_response(400, "malformed JSON")
        items = body if isinstance(body, list) else [body]
        if not all(isinstance(item, dict) for item in items):
            return error_response(400, "expected a list of objects")
        return items

    def _receipts(self, request, channel: str):
        receipts = self._callback_body(request)
        if isinstance(receipts, Response):
            return receipts
        outcome = self.desk.apply_receipts(channel, receipts)
        return json_response({"received": len(receipts), "applied": dict(outcome)})

    @http("POST", "/callbacks/sms/receipts")
    def sms_receipts(self, request):
        return self._receipts(request, statuses.SMS)

    @http("POST", "/callbacks/wechat/receipts")
    def wechat_receipts(self, request):
        return self._receipts(request, statuses.WECHAT)

    @http("POST", "/callbacks/sms/inbound")
    def sms_inbound(self, request):
        replies = self._callback_body(request)
        if isinstance(replies, Response):
            return replies
        opted = self.desk.apply_replies([(str(r.get("mobile", "")), str(r.get("content", ""))) for r in replies])
        return json_response({"received": len(replies), "opted_out": opted})

    @http("POST", "/callbacks/<provider>/<token>/<kind>")
    def vendor_callback(self, request, provider, token, kind):
        """Alibaba's and Tencent's own pushes (`vendor_callbacks`): receipts and replies, answered their way."""
        what = vendor_callbacks.what(provider, kind)
        sms = self.courier.delivery.providers[statuses.SMS]
        configured = what is not None and provider in getattr(sms, "members", {})
        if not configured or not vendor_callbacks.admitted(self.config, provider, token, request.remote_addr):
            return error_response(404, "not found")
        items = self._pushed_items(request)
        if isinstance(items, Response):
            return items
        if what == "receipts":
            self.desk.apply_receipts(statuses.SMS, items, source=provider)
        else:
            self.desk.apply_replies(vendor_callbacks.replies(provider, items))
        return json_response(vendor_callbacks.ACKNOWLEDGEMENT[provider])


subscribe(NotifyService, subscriptions.HANDLERS, subscriptions.handler_name, batch=subscriptions.BATCH_FORMS)

"""The notify service's entrypoints. Logic longer than a few lines lives in plain modules beside it."""

from __future__ import annotations

import json

from prometheus_client import Gauge
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from services.notify import (
    broadcasts,
    callback_auth,
    catalogue,
    contacts,
    notices,
    retention,
    statuses,
    subscriptions,
    vendor_callbacks,
)
from services.notify import provider_templates as provider_template_rules
from services.notify.dependencies import Clock, Courier
from services.notify.exceptions import UnknownBroadcast, UnknownContact, UnknownNotification
from services.notify.models import Broadcast, Notification
from services.notify.providers import sms_provider_names
from services.notify.schemas import (
    BroadcastSchema,
    ContactSchema,
    ListSchema,
    PreferencesSchema,
    TemplateSchema,
    TemplateUpdateSchema,
    load,
    notification_dict,
    template_dict,
)
from shared.auth import require_acting_for, requires
from shared.consumer import event_consumer
from shared.db import Database
from shared.errors import NotFound, PermanentError, ValidationError
from shared.outbox import Outbox
from shared.pii import DecryptionError
from shared.privacy import Pii
from shared.rpc import rpc
from shared.service import PlatformService
from shared.validation import echo
from shared.web import error_response, http, json_response

STAFF = ("admin", "caseworker", "reviewer")
NOTIFICATIONS = Gauge("newcitizen_notify_notifications", "Notifications by status", ["status"])


class NotifyService(PlatformService):
    name = "notify"
    retention_rules = retention.RULES

    db = Database()
    outbox = Outbox()
    pii = Pii()
    clock = Clock()
    courier = Courier()

    # --- events consumed ---------------------------------------------------------------------------

    # the notices (housing, insurance, events, appeals) are generated from `subscriptions.NOTICES` below the class

    @event_consumer("housing", "contact_provided")
    def on_contact_provided(self, event):
        self._store_contact(event["data"])

    @event_consumer("events", "contact_provided")
    def on_events_contact_provided(self, event):
        self._store_contact(event["data"])

    def _store_contact(self, data: dict) -> None:
        try:
            phone = self.pii.decrypt(data["phone_encrypted"])
        except DecryptionError:
            raise PermanentError("phone_encrypted does not decrypt under the platform key") from None
        contacts.store(
            self.db, self.pii, data["resident_id"], self.clock.now(), phone=phone, town=data["town"],
            category=data.get("category"),
        )  # fmt: skip
        self.courier.wake()

    def _send_notice(self, event: dict, notice: subscriptions.Notice) -> None:
        data = event["data"]
        if not notice.wanted(data):
            return
        personalisation = notice.personalise(data)
        for resident_id in notice.recipients(data):
            self._notify(event, notice.template, personalisation, resident_id)

    def _notify(self, event: dict, template_id: str, personalisation: dict, resident_id: str | None = None) -> None:
        """Record one notification per (event, template, recipient); the dispatcher sends it after the commit.
        The recipient is the event's `resident_id` unless another is given.

        History recorded after the fact (`backfill`: cases decided and payments made before the platform)
        is not news to the resident: nothing is sent, the event is only marked handled."""
        if event["data"].get("backfill"):
            return
        resident_id = resident_id or event["data"]["resident_id"]
        settings = self.courier.settings
        notices.record(
            self.db,
            self.pii,
            dedupe_key=subscriptions.dedupe_key(event, template_id, resident_id),
            resident_id=resident_id,
            template=notices.current_template(self.db, template_id),
            personalisation=personalisation,
            signature=settings.signature,
            now=self.clock.now(),
            quiet=settings.quiet,
            source_event_id=event["event_id"],
        )
        self.courier.wake()

    # --- notifications -----------------------------------------------------------------------------

    @rpc(read_only=True)
    @requires(*STAFF)
    def list_notifications(self, resident_id=None, phone=None, status=None, limit=50) -> list[dict]:
        args = load(ListSchema, {"resident_id": resident_id, "phone": phone, "status": status, "limit": limit})
        query = select(Notification)
        if args["resident_id"]:
            query = query.where(Notification.resident_id == args["resident_id"])
        if args["phone"]:
            query = query.where(Notification.phone_index == contacts.phone_index(self.pii, contacts.clean_phone(phone)))
        if args["status"]:
            query = query.where(Notification.status == args["status"])
        query = query.order_by(Notification.created_at.desc(), Notification.id).limit(args["limit"])
        return [notification_dict(n) for n in self.db.scalars(query)]

    @rpc(read_only=True)
    @requires(*STAFF)
    def get_notification(self, notification_id: str) -> dict:
        notification = self.db.get(Notification, str(notification_id))
        if notification is None:
            raise UnknownNotification(f"no notification {echo(notification_id)}")
        return notification_dict(notification)

    # --- contacts and preferences ------------------------------------------------------------------

    @rpc
    @requires("caseworker")
    def upsert_contact(self, resident_id, phone=None, wechat_openid=None, town=None, category=None,
                       preferred_channel=None, promo_consent=None) -> dict:  # fmt: skip
        args = load(ContactSchema, {
            "resident_id": resident_id, "phone": phone, "wechat_openid": wechat_openid, "town": town,
            "category": category, "preferred_channel": preferred_channel, "promo_consent": promo_consent,
        })  # fmt: skip
        if args["phone"] is not None:
            contacts.clean_phone(args["phone"])
        contact = contacts.store(self.db, self.pii, now=self.clock.now(), **args)
        result = self._contact_dict(contact)
        self.db.commit()
        self.courier.wake()
        return result

    @rpc
    @requires("caseworker", "resident")
    def set_preferences(self, resident_id, preferred_channel=None, promo_consent=None, wechat_openid=None) -> dict:
        """A caseworker, or the resident themself (a `resident` token whose subject is their resident_id)."""
        require_acting_for(self.auth.caller, resident_id)
        args = load(PreferencesSchema, {
            "resident_id": resident_id, "preferred_channel": preferred_channel, "promo_consent": promo_consent,
            "wechat_openid": wechat_openid,
        })  # fmt: skip
        try:
            contacts.get(self.db, resident_id)
        except NotFound:
            raise UnknownContact(f"no contact for resident {echo(resident_id)}") from None
        contact = contacts.store(self.db, self.pii, now=self.clock.now(), **args)
        result = self._contact_dict(contact)
        self.db.commit()
        return result

    @rpc(read_only=True)
    @requires(*STAFF)
    def get_contact(self, resident_id) -> dict:
        try:
            return self._contact_dict(contacts.get(self.db, resident_id))
        except NotFound:
            raise UnknownContact(f"no contact for resident {echo(resident_id)}") from None

    def refresh_gauges(self) -> None:
        counts = dict(self.db.execute(select(Notification.status, func.count()).group_by(Notification.status)).all())
        self.db.rollback()
        for status in statuses.ALL:
            NOTIFICATIONS.labels(status).set(counts.get(status, 0))

    def _contact_dict(self, contact) -> dict:
        return contacts.as_dict(contact, notices.is_opted_out(self.db, contact.phone_index))

    # --- templates ---------------------------------------------------------------------------------

    @rpc(read_only=True)
    @requires(*STAFF)
    def list_templates(self) -> list[dict]:
        return [self._template_dict(t) for t in catalogue.current_versions(self.db)]

    @rpc(read_only=True)
    @requires(*STAFF)
    def get_template(self, template_id, version=None) -> dict:
        return self._template_dict(catalogue.version(self.db, template_id, version))

    @rpc
    @requires("admin")
    def create_template(self, template_id, name, kind, body, wechat_template_id=None, provider_templates=None) -> dict:
        data = load(TemplateSchema, {
            "template_id": template_id, "name": name, "kind": kind, "body": body,
            "wechat_template_id": wechat_template_id, "provider_templates": provider_templates,
        })  # fmt: skip
        template = catalogue.create(
            self.db, data, self.courier.settings.signature, self.auth.caller.subject, self.clock.now(),
            self._vendors_in_use(),
        )  # fmt: skip
        self.db.flush()
        result = self._template_dict(template)
        self.db.commit()
        return result

    @rpc
    @requires("admin")
    def update_template(self, template_id, name=None, body=None, wechat_template_id=None, active=None,
                        provider_templates=None) -> dict:  # fmt: skip
        data = load(TemplateUpdateSchema, {
            "template_id": template_id, "name": name, "body": body, "wechat_template_id": wechat_template_id,
            "active": active, "provider_templates": provider_templates,
        })  # fmt: skip
        template = catalogue.update(
            self.db, data, self.courier.settings.signature, self.auth.caller.subject, self.clock.now(),
            self._vendors_in_use(),
        )  # fmt: skip
        self.db.flush()
        result = self._template_dict(template)
        self.db.commit()
        return result

    def _template_dict(self, template) -> dict:
        return template_dict(template, catalogue.provider_specs(self.db, template))

    def _vendors_in_use(self) -> tuple[str, ...]:
        """The template-code providers SMS_PROVIDER names: a new template version needs a code from each."""
        return tuple(name for name in sms_provider_names(self.config) if name in provider_template_rules.PROVIDERS)

    @rpc(read_only=True)
    @requires(*STAFF)
    def preview_template(self, template_id, personalisation=None, version=None) -> dict:
        from services.notify.templating import render

        template = catalogue.version(self.db, template_id, version)
        rendered = render(template.body, personalisation or {}, self.courier.settings.signature)
        return {"body": rendered.body, "billed_length": rendered.billed_length, "segments": rendered.segments}

    # --- broadcasts --------------------------------------------------------------------------------

    @rpc
    @requires("admin")
    def broadcast(self, template_id, segment, personalisation=None) -> dict:
        args = load(BroadcastSchema, {"template_id": template_id, "segment": segment,
                                      "personalisation": personalisation or {}})  # fmt: skip
        settings = self.courier.settings
        broadcast = broadcasts.create(
            self.db,
            notices.current_template(self.db, args["template_id"]),
            args["segment"],
            args["personalisation"],
            settings.signature,
            self.auth.caller.subject,
            self.clock.now(),
        )
        self.db.commit()
        self.courier.wake()
        return broadcasts.progress(self.db, broadcast)

    @rpc(read_only=True)
    @requires(*STAFF)
    def get_broadcast(self, broadcast_id) -> dict:
        broadcast = self.db.get(Broadcast, str(broadcast_id))
        if broadcast is None:
            raise UnknownBroadcast(f"no broadcast {echo(broadcast_id)}")
        return broadcasts.progress(self.db, broadcast)

    # --- provider callbacks (HTTP) -----------------------------------------------------------------

    def _callback_body(self, request) -> list[dict] | Response:
        """The pushed items, or the refusal: 401 unless signed by the gateway (see callback_auth), then as
        `_pushed_items`."""
        raw = request.get_data(cache=True)
        if not callback_auth.verify(str(self.config.get("SMS_GATEWAY_KEY") or ""), raw, request.headers):
            return error_response(401, "unsigned, forged or stale callback")
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
        outcome = self._apply_receipts(channel, receipts)
        return json_response({"received": len(receipts), "applied": dict(outcome)})

    def _apply_receipts(self, channel: str, receipts: list[dict], source: str | None = None):
        outcome = self.courier.engine.apply_receipts(self.db, self.outbox, channel, receipts, source)
        self.db.commit()
        self.courier.wake()
        return outcome

    def _replies(self, replies: list[tuple[str, str]]) -> int:
        """Replies to our number (上行短信). T / TD / 退订 opts the number out of promotional messages."""
        now = self.clock.now()
        opted = 0
        for mobile, text in replies:
            try:
                opted += contacts.opt_out(self.db, self.pii, mobile, text, now)
            except ValidationError:  # one malformed reply must not drop the others
                continue
        self.db.commit()
        return opted

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
        opted = self._replies([(str(r.get("mobile", "")), str(r.get("content", ""))) for r in replies])
        return json_response({"received": len(replies), "opted_out": opted})

    @http("POST", "/callbacks/<provider>/<token>/<kind>")
    def vendor_callback(self, request, provider, token, kind):
        """Alibaba's and Tencent's own pushes (`vendor_callbacks`): receipts and replies, answered their way."""
        what = vendor_callbacks.what(provider, kind)
        sms = self.courier.engine.providers[statuses.SMS]
        configured = what is not None and provider in getattr(sms, "members", {})
        if not configured or not vendor_callbacks.admitted(self.config, provider, token, request.remote_addr):
            return error_response(404, "not found")
        items = self._pushed_items(request)
        if isinstance(items, Response):
            return items
        if what == "receipts":
            self._apply_receipts(statuses.SMS, items, source=provider)
        else:
            self._replies(vendor_callbacks.replies(provider, items))
        return json_response(vendor_callbacks.ACKNOWLEDGEMENT[provider])


def _consumer_of(source: str, event_type: str, notice: subscriptions.Notice):
    def handle(self, event: dict) -> None:
        self._send_notice(event, notice)

    handle.__name__ = handle.__qualname__ = subscriptions.handler_name(source, event_type)
    handle.__doc__ = f"Record the {notice.template!r} notice for a {source}.{event_type} event."
    return event_consumer(source, event_type)(handle)


for (_source, _event_type), _notice in subscriptions.NOTICES.items():
    setattr(
        NotifyService, subscriptions.handler_name(_source, _event_type), _consumer_of(_source, _event_type, _notice)
    )

"""The notify service's application object: `self.desk` in a worker (see shared/platform/unit_of_work.py).

The verbs an RPC or a callback calls commit their change (`@transactional`); the two an event consumer
calls (`store_contact`, `send_notice`) do not, since the consumer commits them with its record of the event
(shared/platform/event_consumer.py). A verb that records something to send wakes the courier, which dispatches once the
worker is over."""

from __future__ import annotations

from sqlalchemy import select

from services.notify import broadcasts, catalogue, contacts, notices, subscriptions
from services.notify import provider_templates as provider_template_rules
from services.notify.exceptions import BroadcastNotFound, ContactNotFound, NotificationNotFound
from services.notify.models import Broadcast, Notification
from services.notify.providers import sms_provider_names
from services.notify.schemas import notification_dict, template_dict
from services.notify.templating import render
from shared.platform.errors import NotFound, PermanentError, ValidationError
from shared.platform.personal_data import DecryptionError
from shared.platform.unit_of_work import WorkerDesk, transactional
from shared.platform.validation import echo


class Desk(WorkerDesk):
    @property
    def courier(self):
        return self.worker.courier

    @property
    def config(self) -> dict:
        return self.worker.config

    # --- events consumed -------------------------------------------------------------------------------

    def store_contact(self, data: dict) -> None:
        try:
            phone = self.pii.decrypt(data["phone_encrypted"], bound_to=data["resident_id"])
        except DecryptionError:
            raise PermanentError("phone_encrypted does not decrypt for this resident under the platform key") from None
        contacts.store(
            self.db, self.pii, data["resident_id"], self.clock.now(), phone=phone, town=data["town"],
            category=data.get("category"),
        )  # fmt: skip
        self.courier.wake()

    def send_notice(self, event: dict, notice: subscriptions.Notice) -> None:
        """Record one notification per (event, template, recipient); the dispatcher sends it after the commit.

        History recorded after the fact (`backfill`: cases decided and payments made before the platform)
        is not news to the resident: nothing is sent, the event is only marked handled."""
        self.send_notices([(event, notice)])

    def send_notices(self, batch: list[tuple[dict, subscriptions.Notice]]) -> None:
        """`send_notice` for a batch of events, in the caller's transaction: each template is read once and
        the batch's dedupe keys are looked up in one query."""
        planned = [item for event, notice in batch for item in self._notices_of(event, notice)]
        if not planned:
            return
        recorded = notices.recorded_keys(self.db, [key for key, *_rest in planned])
        templates: dict = {}
        settings = self.courier.settings
        for key, event, notice, resident_id, personalisation in planned:
            if key in recorded:
                continue
            if notice.template not in templates:
                templates[notice.template] = notices.current_template(self.db, notice.template)
            notices.record(
                self.db,
                self.pii,
                dedupe_key=key,
                resident_id=resident_id,
                template=templates[notice.template],
                personalisation=personalisation,
                signature=settings.signature,
                now=self.clock.now(),
                quiet=settings.quiet,
                source_event_id=event["event_id"],
                new=True,
            )
        self.courier.wake()

    @staticmethod
    def _notices_of(event: dict, notice: subscriptions.Notice) -> list[tuple]:
        data = event["data"]
        if not notice.wanted(data):
            return []
        personalisation = notice.personalise(data)
        recipients = notice.recipients(data)
        if data.get("backfill"):
            return []
        return [
            (subscriptions.dedupe_key(event, notice.template, resident_id), event, notice, resident_id, personalisation)
            for resident_id in (recipient or data["resident_id"] for recipient in recipients)
        ]

    # --- notifications ---------------------------------------------------------------------------------

    def list_notifications(self, args: dict) -> list[dict]:
        query = select(Notification)
        if args["resident_id"]:
            query = query.where(Notification.resident_id == args["resident_id"])
        if args["phone"]:
            phone = contacts.clean_phone(args["phone"])
            query = query.where(Notification.phone_index == contacts.phone_index(self.pii, phone))
        if args["status"]:
            query = query.where(Notification.status == args["status"])
        query = query.order_by(Notification.created_at.desc(), Notification.id).limit(args["limit"])
        return [notification_dict(n) for n in self.db.scalars(query)]

    def get_notification(self, notification_id) -> dict:
        notification = self.db.get(Notification, str(notification_id))
        if notification is None:
            raise NotificationNotFound(f"no notification {echo(notification_id)}")
        return notification_dict(notification)

    # --- contacts and preferences ----------------------------------------------------------------------

    @transactional
    def upsert_contact(self, args: dict) -> dict:
        if args["phone"] is not None:
            contacts.clean_phone(args["phone"])
        result = self._contact_dict(contacts.store(self.db, self.pii, now=self.clock.now(), **args))
        self.courier.wake()
        return result

    @transactional
    def set_preferences(self, args: dict) -> dict:
        self._contact(args["resident_id"])
        return self._contact_dict(contacts.store(self.db, self.pii, now=self.clock.now(), **args))

    def get_contact(self, resident_id) -> dict:
        return self._contact_dict(self._contact(resident_id))

    def _contact(self, resident_id):
        try:
            return contacts.get(self.db, resident_id)
        except NotFound:
            raise ContactNotFound(f"no contact for resident {echo(resident_id)}") from None

    def _contact_dict(self, contact) -> dict:
        return contacts.as_dict(contact, notices.is_opted_out(self.db, contact.phone_index))

    # --- templates -------------------------------------------------------------------------------------

    def list_templates(self) -> list[dict]:
        return [self._template_dict(t) for t in catalogue.current_versions(self.db)]

    def get_template(self, template_id, version) -> dict:
        return self._template_dict(catalogue.version(self.db, template_id, version))

    @transactional
    def create_template(self, data: dict, by: str) -> dict:
        return self._stored(catalogue.create, data, by)

    @transactional
    def update_template(self, data: dict, by: str) -> dict:
        return self._stored(catalogue.update, data, by)

    def _stored(self, write, data: dict, by: str) -> dict:
        signature = self.courier.settings.signature
        template = write(self.db, data, signature, by, self.clock.now(), self._vendors_in_use())
        self.db.flush()
        return self._template_dict(template)

    def preview_template(self, template_id, personalisation: dict, version) -> dict:
        template = catalogue.version(self.db, template_id, version)
        rendered = render(template.body, personalisation, self.courier.settings.signature)
        return {"body": rendered.body, "billed_length": rendered.billed_length, "segments": rendered.segments}

    def _template_dict(self, template) -> dict:
        return template_dict(template, catalogue.provider_specs(self.db, template))

    def _vendors_in_use(self) -> tuple[str, ...]:
        """The template-code providers SMS_PROVIDER names: a new template version needs a code from each."""
        return tuple(name for name in sms_provider_names(self.config) if name in provider_template_rules.PROVIDERS)

    # --- broadcasts ------------------------------------------------------------------------------------

    def broadcast(self, args: dict, by: str) -> dict:
        """Its progress is read after the commit, as the recorder may already have begun."""
        return broadcasts.progress(self.db, self._create_broadcast(args, by))

    @transactional
    def _create_broadcast(self, args: dict, by: str) -> Broadcast:
        template = notices.current_template(self.db, args["template_id"])
        specs = catalogue.provider_specs(self.db, template).values()
        links_approved = bool(specs) and all(spec["allow_links"] for spec in specs)
        broadcast = broadcasts.create(
            self.db,
            template,
            args["segment"],
            args["personalisation"],
            self.courier.settings.signature,
            by,
            self.clock.now(),
            self.courier.settings.broadcast_approval_above,
            links_approved,
        )
        if broadcast.status == broadcasts.RECORDING:
            broadcasts.start_recording(self.worker.jobs, self.db, broadcast, by)
        return broadcast

    def decide_broadcast(self, broadcast_id, approve: bool, by: str, reason: str | None = None) -> dict:
        self._decide_broadcast(broadcast_id, approve, by, reason)
        return self.get_broadcast(broadcast_id)

    @transactional
    def _decide_broadcast(self, broadcast_id, approve: bool, by: str, reason: str | None) -> None:
        broadcast = self._broadcast(broadcast_id)
        before = broadcast.status
        broadcasts.decide(self.db, broadcast, approve, by, self.clock.now(), reason)
        self.worker.audit.record(
            "broadcast", broadcast.id, broadcast.status, from_state=before, to_state=broadcast.status, reason=reason
        )
        if broadcast.status == broadcasts.RECORDING:
            broadcasts.start_recording(self.worker.jobs, self.db, broadcast, by)

    def get_broadcast(self, broadcast_id) -> dict:
        return broadcasts.progress(self.db, self._broadcast(broadcast_id))

    def _broadcast(self, broadcast_id) -> Broadcast:
        broadcast = self.db.get(Broadcast, str(broadcast_id))
        if broadcast is None:
            raise BroadcastNotFound(f"no broadcast {echo(broadcast_id)}")
        return broadcast

    # --- provider callbacks ----------------------------------------------------------------------------

    @transactional
    def apply_receipts(self, channel: str, receipts: list[dict], source: str | None = None):
        outcome = self.courier.delivery.apply_receipts(self.db, self.outbox, channel, receipts, source)
        self.courier.wake()
        return outcome

    @transactional
    def apply_replies(self, replies: list[tuple[str, str]]) -> int:
        """Replies to our number (上行短信). T / TD / 退订 opts the number out of promotional messages."""
        now = self.clock.now()
        opted = 0
        for mobile, text in replies:
            try:
                opted += contacts.opt_out(self.db, self.pii, mobile, text, now)
            except ValidationError:  # one malformed reply must not drop the others
                continue
        return opted

"""What the insurance counter does: registrations, eligibility answers, enrolments and their lifecycle.

`Desk` is the service's application object (`self.desk`, shared/platform/unit_of_work.py): it works on the worker's
session, outbox writer, PII tools and clock, and in a plain test on any object that has them. Each mutating
verb is `@transactional`: it commits once, the change and its event together, or rolls back.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from functools import cached_property

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from services.insurance import lifecycle, rules
from services.insurance.exceptions import (
    DuplicateContribution,
    DuplicateEnrolment,
    DuplicateRegistration,
    EnrolmentNotFound,
    InvalidTransition,
    MakerCheckerViolation,
    NotEligible,
)
from services.insurance.models import (
    LIVE_STATUSES,
    EmploymentRegistration,
    Enrolment,
    PensionContribution,
    Person,
    utcnow,
)
from services.insurance.policy import PolicyBook, load_book
from services.insurance.retirement import category_of, retirement
from services.insurance.schemas import (
    ContributionSchema,
    DecisionSchema,
    EligibilitySchema,
    EmploymentSchema,
    EndSchema,
    ListSchema,
    MedicalEnrolmentSchema,
    PensionEnrolmentSchema,
    RejectSchema,
    SuspendSchema,
)
from shared.platform.auth import Caller, require_acting_for
from shared.platform.clock import local_date
from shared.platform.contracts import resident_note
from shared.platform.db import move_status
from shared.platform.errors import ValidationError
from shared.platform.ids import new_id
from shared.platform.personal_data import (
    ADULT_AGE_YEARS,
    birth_date_from_id,
    mask_birth_certificate,
    mask_id_number,
    sex_from_id,
)
from shared.platform.unit_of_work import WorkerDesk, transactional
from shared.platform.validation import echo, load

SWEEP_BATCH = 500
DECISION_SCHEMAS = {"reject": RejectSchema, "suspend": SuspendSchema, "end": EndSchema}
# who may see any case; everyone else (a resident) sees only their own or their child's
CASE_READERS = ("caseworker", "reviewer")


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class Desk(WorkerDesk):
    def __init__(self, worker, today: date | None = None, now: datetime | None = None):
        super().__init__(worker)
        self._today, self._now = today, now
        self._book: PolicyBook | None = None

    @cached_property
    def now(self) -> datetime:
        """The moment of this call, read once so every timestamp a verb writes agrees."""
        return self._now or self.clock.now()

    @cached_property
    def today(self) -> date:
        return self._today or local_date(self.now)

    @property
    def audit(self):
        """The lapse sweep changes rows by UPDATE, which the automatic audit cannot see."""
        return getattr(self.worker, "audit", None)

    @property
    def book(self) -> PolicyBook:
        if self._book is None:
            self._book = load_book(self.db)
        return self._book

    def policy_table(self) -> list[dict]:
        return self.book.table()

    # --- persons and facts ---------------------------------------------------------------------------

    def find_person(self, id_number: str) -> Person | None:
        return self.db.scalar(select(Person).where(Person.id_index == self.pii.index(id_number, "id_number")))

    def identity(self, data: dict) -> tuple[str, str]:
        """(blind index, resident_id) of a presented person: by ID number, or for a newborn not yet issued one,
        by the birth certificate (docs/policy.md)."""
        if data.get("id_number"):
            return self.pii.index(data["id_number"], "id_number"), self.pii.resident_id(data["id_number"])
        certificate = data["birth_certificate_number"]
        index = self.pii.index(certificate, "birth_certificate")
        return index, self.pii.resident_id_from_birth_certificate(certificate)

    def find(self, data: dict) -> Person | None:
        return self.db.scalar(select(Person).where(Person.id_index == self.identity(data)[0]))

    def save_person(self, data: dict) -> Person:
        """Create or refresh a person from what was just presented at the counter."""
        person = self.find(data)
        if person is None:
            index, resident_id = self.identity(data)
            id_number = data.get("id_number")
            certificate = None if id_number else data["birth_certificate_number"]
            facts = self.person_facts(data)
            person = Person(
                resident_id=resident_id,
                id_index=index,
                id_number_encrypted=self.pii.encrypt(id_number) if id_number else None,
                birth_certificate_encrypted=self.pii.encrypt(certificate) if certificate else None,
                id_number_masked=mask_id_number(id_number) if id_number else mask_birth_certificate(certificate),
                birth_date=facts.birth_date,
                sex=facts.sex,
            )
            self.db.add(person)
        person.hukou = data["hukou"]
        permit = data.get("residence_permit")
        person.permit_number_encrypted = self.pii.encrypt(permit["number"]) if permit else None
        person.permit_issued_in_cixi = permit["issued_in_cixi"] if permit else None
        person.permit_valid_until = permit["valid_until"] if permit else None
        self.db.flush()
        return person

    @staticmethod
    def person_facts(data: dict) -> rules.PersonFacts:
        permit = data.get("residence_permit")
        number = data.get("id_number")
        return rules.PersonFacts(
            birth_date=birth_date_from_id(number) if number else data["birth_date"],
            sex=sex_from_id(number) if number else data["sex"],
            hukou=data["hukou"],
            permit=rules.Permit(permit["issued_in_cixi"], permit["valid_until"]) if permit else None,
        )

    def latest_employment(self, person: Person | None) -> rules.EmploymentFacts | None:
        if person is None:
            return None
        row = self.db.scalar(
            select(EmploymentRegistration)
            .where(EmploymentRegistration.person_id == person.id)
            .order_by(EmploymentRegistration.registered_on.desc(), EmploymentRegistration.created_at.desc())
            .limit(1)
        )
        if row is None:
            return None
        return rules.EmploymentFacts(row.kind, row.town, row.start_date, row.late, row.retirement_category)

    def live_enrolment(self, person: Person | None, scheme: str) -> Enrolment | None:
        if person is None:
            return None
        return self.db.scalar(
            select(Enrolment).where(
                Enrolment.person_id == person.id, Enrolment.scheme == scheme, Enrolment.status.in_(LIVE_STATUSES)
            )
        )

    def facts_for(self, resident: dict) -> rules.Facts:
        """The presented facts, plus what this service's records say (registration, parent's cover here); a
        parent's cover held elsewhere is what the caseworker recorded (`parent.medical_cover`)."""
        parent_facts = None
        parent = resident.get("parent")
        if parent:
            cover = self.live_enrolment(self.find_person(parent["id_number"]), "medical")
            recorded = parent.get("medical_cover")
            parent_facts = rules.ParentFacts(
                person=self.person_facts(parent),
                medical_status=cover.status if cover else None,
                contribution_months=parent.get("employee_contribution_months"),
                recorded_cover=rules.RecordedCover(**recorded) if recorded else None,
            )
        return rules.Facts(
            person=self.person_facts(resident),
            employment=self.latest_employment(self.find(resident)),
            parent=parent_facts,
            birth_certificate=bool(resident.get("birth_certificate_number")),
        )

    def _require_acting_for(self, caller: Caller, person: dict) -> None:
        """A resident asks about themselves, or as the named parent about a child who is a minor today (not
        on the date asked about: an adult's records are not a child's because the question is dated back)."""
        parent = person.get("parent")
        facts = self.person_facts(person)
        require_acting_for(
            caller,
            self.identity(person)[1],
            parent=self.pii.resident_id(parent["id_number"]) if parent else None,
            minor=self.today < facts.birth_date or facts.age_years(self.today) < ADULT_AGE_YEARS,
        )

    # --- employment registration ---------------------------------------------------------------------

    @transactional
    def register_employment(self, payload: dict, caller: Caller) -> dict:
        data = load(EmploymentSchema(), payload, today=self.today)
        registered_on = data["registered_on"] or self.today
        facts = self.person_facts(data["resident"])
        checks = rules.employment_rules(facts, self.book, registered_on)
        if not all(check.passed for check in checks):
            raise NotEligible(_refusal(checks))
        lateness = rules.registration_lateness(self.book, data["start_date"], registered_on)
        known = self.find_person(data["resident"]["id_number"])
        if known is not None and self.db.scalar(
            select(func.count())
            .select_from(EmploymentRegistration)
            .where(
                EmploymentRegistration.person_id == known.id,
                EmploymentRegistration.kind == data["kind"],
                EmploymentRegistration.start_date == data["start_date"],
            )
        ):
            raise DuplicateRegistration(f"already registered as {data['kind']} from {data['start_date']}")
        person = self.save_person(data["resident"])
        registration = EmploymentRegistration(
            id=new_id(),
            person_id=person.id,
            kind=data["kind"],
            employer_name=data["employer_name"],
            start_date=data["start_date"],
            registered_on=registered_on,
            town=data["town"],
            days_after_start=lateness.days_after_start,
            late=lateness.late,
            retirement_category=data["retirement_category"],
            registered_by=caller.subject,
            created_at=utcnow(),
        )
        self.db.add(registration)
        fact = {
            "registration_id": registration.id,
            "resident_id": person.resident_id,
            "kind": registration.kind,
            "town": registration.town,
            "start_date": _iso(registration.start_date),
            "registered_on": _iso(registered_on),
            "days_after_start": lateness.days_after_start,
            "late": lateness.late,
            "registered_at": _iso(registration.created_at),
        }
        self.outbox.add("employment_registered", fact)
        flag = f"registered {lateness.days_after_start} days after starting work (> {lateness.deadline_days})"
        return {
            **fact,
            "deadline_days": lateness.deadline_days,
            "retirement_category": registration.retirement_category,
            "flags": [flag] if lateness.late else [],
            "rules": [check.to_dict() for check in checks],
        }

    # --- eligibility ---------------------------------------------------------------------------------

    def check_eligibility(self, resident: dict, scheme: str, caller: Caller, on: str | None = None) -> dict:
        data = load(EligibilitySchema(), {"resident": resident, "scheme": scheme, "on": on}, today=self.today)
        person = data["resident"]
        self._require_acting_for(caller, person)
        day = data["on"] or self.today
        facts = self.facts_for(person)
        answers = [rules.evaluate(data["scheme"], route, facts, self.book, day) for route in data["routes"]]
        open_routes = [a.route for a in answers if a.eligible]
        if len(answers) == 1:
            answer = answers[0].answer
        elif open_routes:
            answer = "eligible through: " + ", ".join(open_routes)
        else:
            answer = "not eligible through any route"
        result = {
            "scheme": data["scheme"],
            "on": day.isoformat(),
            "eligible": bool(open_routes),
            "answer": answer,
            "routes": [a.to_dict() for a in answers],
        }
        if data["scheme"] == "elderly_care" and not open_routes:
            result["answer_zh"] = _elderly_answer_zh(answers[0])
        return result

    # --- enrolment -----------------------------------------------------------------------------------

    @transactional
    def enrol_pension(self, payload: dict, caller: Caller) -> dict:
        data = load(PensionEnrolmentSchema(), payload, today=self.today, book=self.book)
        year = (data["start_date"] or self.today).year
        contribution = rules.pension_contribution(self.book, year, data["route"], data["contribution_base_fen"])
        return self._enrol("pension", data, contribution, caller)

    @transactional
    def enrol_medical(self, payload: dict, caller: Caller) -> dict:
        data = load(MedicalEnrolmentSchema(), payload, today=self.today)
        start = data["start_date"] or self.today
        facts = self.person_facts(data["resident"])
        contribution = rules.medical_contribution(self.book, start.year, data["route"], facts, start)
        return self._enrol("medical", data, contribution, caller)

    def _enrol(self, scheme: str, data: dict, contribution: rules.Contribution, caller: Caller) -> dict:
        resident, route = data["resident"], data["route"]
        # eligibility is judged on the day of application; the start date only picks the policy year
        answer = rules.evaluate(scheme, route, self.facts_for(resident), self.book, self.today)
        if not answer.eligible:
            raise NotEligible(_refusal(answer.rules))
        if self.live_enrolment(self.find(resident), scheme) is not None:
            raise DuplicateEnrolment(f"already holds a pending, active or suspended {scheme} enrolment")
        person = self.save_person(resident)
        guardian = self.save_person(resident["parent"]) if resident.get("parent") else None
        certificate = resident.get("birth_certificate_number")
        enrolment = Enrolment(
            id=new_id(),
            person_id=person.id,
            guardian_id=guardian.id if guardian else None,
            scheme=scheme,
            route=route,
            status="pending",
            town=data["town"],
            policy_year=(data["start_date"] or self.today).year,
            contribution_base_fen=contribution.base_fen,
            monthly_contribution_fen=contribution.monthly_fen,
            personal_account_fen=contribution.personal_account_fen,
            employer_contribution_fen=contribution.employer_fen,
            yearly_contribution_fen=contribution.yearly_fen,
            policy_ref="; ".join(contribution.policy_refs),
            birth_certificate_encrypted=self.pii.encrypt(certificate) if certificate else None,
            eligibility=json.dumps([rule.to_dict() for rule in answer.rules], ensure_ascii=False),
            requested_start=data["start_date"],
            submitted_by=caller.subject,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        enrolment.person, enrolment.guardian = person, guardian
        self.db.add(enrolment)
        self.outbox.add(
            "enrolment_created",
            {
                **_event_base(enrolment),
                "policy_year": enrolment.policy_year,
                "submitted_at": _iso(enrolment.created_at),
            },
        )
        try:
            self.db.flush()
        except IntegrityError:  # a concurrent submission for the same person and scheme won
            raise DuplicateEnrolment(f"already holds a pending, active or suspended {scheme} enrolment") from None
        return enrolment_view(enrolment)

    # --- reading -------------------------------------------------------------------------------------

    def _visible(self, enrolment: Enrolment | None, caller: Caller) -> bool:
        if enrolment is None:
            return False
        if caller.has_any(CASE_READERS):
            return True
        own = {enrolment.person.resident_id, enrolment.guardian.resident_id if enrolment.guardian else None}
        return "resident" in caller.roles and caller.subject in own

    def get_enrolment(self, enrolment_id: str, caller: Caller) -> dict:
        enrolment = self.db.get(Enrolment, str(enrolment_id)) if isinstance(enrolment_id, str) else None
        if not self._visible(enrolment, caller):
            raise EnrolmentNotFound(f"no enrolment {echo(enrolment_id)}")
        return enrolment_view(enrolment)

    def list_enrolments(self, filters: dict | None, caller: Caller) -> dict:
        data = load(ListSchema(), filters or {})
        query = select(Enrolment).join(Person, Enrolment.person_id == Person.id)
        if not caller.has_any(CASE_READERS):
            guardian_ids = select(Person.id).where(Person.resident_id == caller.subject)
            query = query.where(or_(Person.resident_id == caller.subject, Enrolment.guardian_id.in_(guardian_ids)))
        if data["resident_id"]:
            query = query.where(Person.resident_id == data["resident_id"])
        if data["id_number"]:
            query = query.where(Person.id_index == self.pii.index(data["id_number"], "id_number"))
        for name in ("scheme", "route", "status", "town"):
            if data[name]:
                query = query.where(getattr(Enrolment, name) == data[name])
        total = self.db.scalar(select(func.count()).select_from(query.subquery()))
        rows = self.db.scalars(
            query.order_by(Enrolment.created_at.desc(), Enrolment.id).limit(data["limit"]).offset(data["offset"])
        ).all()
        return {
            "total": total,
            "limit": data["limit"],
            "offset": data["offset"],
            "items": [enrolment_view(e) for e in rows],
        }

    # --- lifecycle -----------------------------------------------------------------------------------

    @transactional  # its rollback also frees the row a refusal locked, before the worker ends
    def decide(self, action: str, payload: dict, caller: Caller) -> dict:
        """activate / reject / suspend / resume / renew / end one enrolment, with its event."""
        data = load(DECISION_SCHEMAS.get(action, DecisionSchema)(), payload)
        enrolment = self.locked(data["enrolment_id"])
        lifecycle.step(action, enrolment.status, enrolment.scheme)  # an illegal step first, before maker-checker
        if action in ("activate", "reject") and enrolment.submitted_by == caller.subject:
            raise MakerCheckerViolation("the caseworker who submitted an enrolment cannot decide on it")
        told = resident_note(data.get("note")) if data.get("note_for_resident") else None
        self.move(enrolment, action, data["reason"], caller, note=data.get("note"), told=told)
        return enrolment_view(enrolment)

    def locked(self, enrolment_id: str) -> Enrolment:
        enrolment = self.db.scalar(
            # the row lock serialises two reviewers deciding at once (PostgreSQL; SQLite serialises writes)
            select(Enrolment).where(Enrolment.id == enrolment_id).with_for_update(of=Enrolment)
        )
        if enrolment is None:
            raise EnrolmentNotFound(f"no enrolment {echo(enrolment_id)}")
        return enrolment

    def move(self, enrolment: Enrolment, action: str, reason: str | None, caller: Caller, note=None, told=None) -> None:
        """One lifecycle step with its event; the caller commits. `reinstate` activates as `activate` does.
        `reason` is the code the event carries, `note` the reviewer's words filed with it, `told` what of
        them the resident is sent."""
        found = lifecycle.step(action, enrolment.status, enrolment.scheme)
        now = self.now
        extra: dict = {}
        if action in ("activate", "reinstate"):
            if action == "reinstate" and self.live_enrolment(enrolment.person, enrolment.scheme) is not None:
                raise DuplicateEnrolment(f"already holds a pending, active or suspended {enrolment.scheme} enrolment")
            start = max(enrolment.requested_start or self.today, self.today)
            if enrolment.scheme in lifecycle.PERIODIC:
                months = self.book.integer("coverage.period_months", self.today.year)
                enrolment.coverage_start, enrolment.coverage_end = lifecycle.coverage_period(start, months)
            else:  # continuous: contributions are due monthly from the start, with no period end
                enrolment.coverage_start, enrolment.coverage_end = start, None
            extra = {
                "policy_year": enrolment.policy_year,
                "contribution_base_fen": enrolment.contribution_base_fen,
                "monthly_contribution_fen": enrolment.monthly_contribution_fen,
                "yearly_contribution_fen": enrolment.yearly_contribution_fen,
                "policy_ref": enrolment.policy_ref,
                "activated_at": _iso(now),
            }
        elif action == "renew":
            months = self.book.integer("coverage.period_months", self.today.year)
            start = lifecycle.renewal_start(enrolment.coverage_end, enrolment.status, self.today)
            enrolment.coverage_start, enrolment.coverage_end = lifecycle.coverage_period(start, months)
            extra = {"renewed_at": _iso(now)}
        elif action == "reject":
            extra = {"reasons": [reason], "note_for_resident": told, "rejected_at": _iso(now)}
        elif action == "suspend":
            extra = {"reason": reason, "note_for_resident": told, "suspended_at": _iso(now)}
        elif action == "resume":
            extra = {"resumed_at": _iso(now)}
        elif action == "end":
            extra = {"reason": reason, "ended_at": _iso(now)}
        enrolment.status = found.target
        filed = f"{reason}: {note}" if reason and note else reason
        enrolment.reason = (filed or enrolment.reason or "")[:500] or None
        enrolment.decided_by = caller.subject
        enrolment.updated_at = now
        self.outbox.add(found.event, {**_event_data(enrolment, found.event), **extra})

    @transactional
    def sweep(self, limit: int = SWEEP_BATCH) -> dict:
        """Remind of periods ending soon, lapse periods that ended unrenewed. Safe to run on every replica:
        each row changes by a conditional UPDATE, so only one run emits its event."""
        today, now = self.today, self.now
        horizon = today + timedelta(days=self.book.integer("renewal.reminder_days", today.year))
        due = self.db.scalars(
            select(Enrolment)
            .where(
                Enrolment.scheme.in_(lifecycle.PERIODIC),
                Enrolment.status == "active",
                Enrolment.coverage_end >= today,
                Enrolment.coverage_end <= horizon,
                or_(Enrolment.reminded_for_end.is_(None), Enrolment.reminded_for_end != Enrolment.coverage_end),
            )
            .order_by(Enrolment.coverage_end)
            .limit(limit)
        ).all()
        reminded = 0
        for enrolment in due:
            claimed = self.db.execute(
                update(Enrolment)
                .where(
                    Enrolment.id == enrolment.id,
                    Enrolment.status == "active",
                    Enrolment.coverage_end == enrolment.coverage_end,
                    or_(Enrolment.reminded_for_end.is_(None), Enrolment.reminded_for_end != enrolment.coverage_end),
                )
                .values(reminded_for_end=enrolment.coverage_end)
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed:
                days_left = (enrolment.coverage_end - today).days
                self.outbox.add("renewal_due", {**_event_data(enrolment, "renewal_due"), "days_left": days_left})
                reminded += 1
        expired = self.db.scalars(
            select(Enrolment)
            .where(
                Enrolment.scheme.in_(lifecycle.PERIODIC), Enrolment.status == "active", Enrolment.coverage_end < today
            )
            .order_by(Enrolment.coverage_end)
            .limit(limit)
        ).all()
        lapsed = 0
        for enrolment in expired:
            if move_status(self.db, Enrolment, enrolment.id, "active", {"status": "lapsed", "updated_at": now}):
                if self.audit is not None:
                    self.audit.record(
                        "enrolment", enrolment.id, "lapsed", "active", "lapsed", reason="coverage period ended"
                    )
                self.outbox.add(
                    "enrolment_lapsed", {**_event_data(enrolment, "enrolment_lapsed"), "lapsed_at": _iso(now)}
                )
                lapsed += 1
        retired, suspended = self._sweep_pensions(limit)
        return {
            "on": today.isoformat(),
            "reminded": reminded,
            "lapsed": lapsed,
            "retired": retired,
            "suspended_for_arrears": suspended,
        }

    # --- pension: continuous, paid monthly -------------------------------------------------------------

    def _sweep_pensions(self, limit: int) -> tuple[int, int]:
        """End pensions on the holder's retirement day; suspend active ones whose unpaid months reach the
        policy's threshold. Page by page over every live pension, each change a conditional UPDATE."""
        retired = suspended = 0
        after = ""
        while True:
            batch = self.db.scalars(
                select(Enrolment)
                .where(
                    Enrolment.scheme == "pension",
                    Enrolment.status.in_(("active", "suspended")),
                    Enrolment.id > after,
                )
                .order_by(Enrolment.id)
                .limit(limit)
            ).all()
            if not batch:
                return retired, suspended
            after = batch[-1].id
            categories = self._recorded_categories({e.person_id for e in batch})
            unpaid = self._unpaid_months(batch)
            threshold = self.book.figure("pension.arrears_suspend_months", self.today.year)
            for enrolment in batch:
                person = enrolment.person
                retires = retirement(
                    person.birth_date,
                    category_of(person.sex, categories.get(person.id)),
                    self.book,
                    self.today.year,
                )
                if self.today >= retires.on:
                    retired += self._conditional(enrolment, ("active", "suspended"), "ended", "retired")
                elif enrolment.status == "active" and len(unpaid[enrolment.id]) >= threshold.as_int:
                    suspended += self._conditional(enrolment, ("active",), "suspended", "arrears")

    def _recorded_categories(self, person_ids: set[int]) -> dict[int, str | None]:
        """Each person's latest recorded post (a woman's retirement category), from their registrations."""
        rows = self.db.execute(
            select(EmploymentRegistration.person_id, EmploymentRegistration.retirement_category)
            .where(EmploymentRegistration.person_id.in_(person_ids))
            .order_by(EmploymentRegistration.registered_on, EmploymentRegistration.created_at)
        ).all()
        return {person_id: category for person_id, category in rows}  # the latest wins

    def _unpaid_months(self, enrolments: list[Enrolment]) -> dict[str, list[str]]:
        paid: dict[str, set[str]] = {e.id: set() for e in enrolments}
        for enrolment_id, month in self.db.execute(
            select(PensionContribution.enrolment_id, PensionContribution.month).where(
                PensionContribution.enrolment_id.in_(list(paid))
            )
        ):
            paid[enrolment_id].add(month)
        return {
            e.id: [m for m in lifecycle.months_due(e.coverage_start, self.today) if m not in paid[e.id]]
            for e in enrolments
        }

    def _conditional(self, enrolment: Enrolment, sources: tuple[str, ...], target: str, reason: str) -> int:
        """Move one row by a conditional UPDATE, so of two replicas sweeping at once only one emits the event."""
        now = self.now
        previous = enrolment.status
        claimed = self.db.execute(
            update(Enrolment)
            .where(Enrolment.id == enrolment.id, Enrolment.status.in_(sources))
            .values(status=target, reason=reason, decided_by="sweep", updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            return 0
        if self.audit is not None:
            self.audit.record("enrolment", enrolment.id, target, previous, target, reason=reason)
        if target == "ended":
            event, extra = "enrolment_ended", {"reason": reason, "ended_at": _iso(now)}
        else:
            event = "enrolment_suspended"
            extra = {"reason": reason, "note_for_resident": None, "suspended_at": _iso(now)}
        self.outbox.add(event, {**_event_data(enrolment, event), **extra})
        return 1

    @transactional
    def record_contribution(self, payload: dict, caller: Caller) -> dict:
        """One month's pension contribution recorded as paid; what is still unpaid comes back with it."""
        data = load(ContributionSchema(), payload)
        enrolment = self.locked(data["enrolment_id"])
        if enrolment.scheme != "pension":
            raise InvalidTransition(f"only pension is paid monthly; enrolment {enrolment.id} is {enrolment.scheme}")
        if enrolment.status not in ("active", "suspended"):
            raise InvalidTransition(f"cannot record a contribution on an enrolment that is {enrolment.status}")
        paid_on = data["paid_on"] or self.today
        errors = {}
        first = lifecycle.month_of(enrolment.coverage_start)
        if not first <= data["month"] <= lifecycle.month_of(self.today):
            errors["month"] = [f"must be from {first} (coverage start) to {lifecycle.month_of(self.today)}"]
        if paid_on > self.today:
            errors["paid_on"] = [f"cannot be after today ({self.today})"]
        if errors:
            raise ValidationError(errors)
        if self.db.scalar(
            select(PensionContribution.id).where(
                PensionContribution.enrolment_id == enrolment.id, PensionContribution.month == data["month"]
            )
        ):
            raise DuplicateContribution(f"{data['month']} is already recorded for enrolment {enrolment.id}")
        row = PensionContribution(
            id=new_id(),
            enrolment_id=enrolment.id,
            month=data["month"],
            amount_fen=enrolment.monthly_contribution_fen,
            paid_on=paid_on,
            recorded_by=caller.subject,
            recorded_at=self.now,
        )
        self.db.add(row)
        try:
            self.db.flush()
        except IntegrityError:  # a concurrent record of the same month won
            raise DuplicateContribution(f"{data['month']} is already recorded for enrolment {enrolment.id}") from None
        self.outbox.add(
            "contribution_recorded",
            {
                **_event_base(enrolment),
                "month": row.month,
                "amount_fen": row.amount_fen,
                "paid_on": _iso(paid_on),
                "recorded_at": _iso(row.recorded_at),
            },
        )
        return {
            "enrolment_id": enrolment.id,
            "month": row.month,
            "amount_fen": row.amount_fen,
            "paid_on": _iso(paid_on),
            "status": enrolment.status,
            "unpaid_months": self._unpaid_months([enrolment])[enrolment.id],
        }


# --- shapes ------------------------------------------------------------------------------------------

COVERAGE_EVENTS = frozenset(
    {
        "enrolment_activated",
        "enrolment_suspended",
        "enrolment_resumed",
        "enrolment_lapsed",
        "enrolment_renewed",
        "renewal_due",
    }
)


def _event_base(enrolment: Enrolment) -> dict:
    return {
        "enrolment_id": enrolment.id,
        "resident_id": enrolment.person.resident_id,
        "guardian_resident_id": enrolment.guardian.resident_id if enrolment.guardian else None,
        "scheme": enrolment.scheme,
        "route": enrolment.route,
        "town": enrolment.town,
    }


def _event_data(enrolment: Enrolment, event: str) -> dict:
    data = _event_base(enrolment)
    if event in COVERAGE_EVENTS:
        data["coverage_start"] = _iso(enrolment.coverage_start)
        data["coverage_end"] = _iso(enrolment.coverage_end)
    return data


def enrolment_view(enrolment: Enrolment) -> dict:
    return {
        **_event_base(enrolment),
        "id_number_masked": enrolment.person.id_number_masked,
        "status": enrolment.status,
        "policy_year": enrolment.policy_year,
        "contribution_base_fen": enrolment.contribution_base_fen,
        "monthly_contribution_fen": enrolment.monthly_contribution_fen,
        "personal_account_fen": enrolment.personal_account_fen,
        "employer_contribution_fen": enrolment.employer_contribution_fen,
        "yearly_contribution_fen": enrolment.yearly_contribution_fen,
        "policy_ref": enrolment.policy_ref,
        "requested_start": _iso(enrolment.requested_start),
        "coverage_start": _iso(enrolment.coverage_start),
        "coverage_end": _iso(enrolment.coverage_end),
        "reason": enrolment.reason,
        "submitted_by": enrolment.submitted_by,
        "decided_by": enrolment.decided_by,
        "created_at": _iso(enrolment.created_at),
        "updated_at": _iso(enrolment.updated_at),
        "eligibility": json.loads(enrolment.eligibility),
    }


def _refusal(results: list[rules.RuleResult]) -> str:
    failed = [r for r in results if not r.passed]
    return "not eligible: " + "; ".join(f"{r.reason} ({r.detail})" for r in failed)


def _elderly_answer_zh(answer: rules.RouteAnswer) -> str:
    failed = {r.rule for r in answer.failed}
    parts = []
    if "elderly_age" in failed:
        parts.append("未达到补贴年龄")
    if "cixi_hukou" in failed:
        parts.append("需具有慈溪户籍")
    return "不符合补贴条件：" + "；".join(parts) + "；" + rules.SELF_PAID_ALTERNATIVE_ZH

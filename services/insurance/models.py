"""insurance's tables. Only this service reads or writes them.

ID numbers, residence-permit and birth-certificate numbers are stored encrypted; `id_index` is the blind
index used to find a person again, `resident_id` the platform-wide pseudonym that events carry.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.cixi.appeals import AppealColumns
from shared.platform import clock
from shared.platform.jobs import JobColumns
from shared.platform.policy_store import PolicyColumns

# statuses in which a person holds (or is about to hold) a scheme; only one such enrolment per scheme
LIVE_STATUSES = ("pending", "active", "suspended")
_LIVE_SQL = "status IN ('pending', 'active', 'suspended')"


utcnow = clock.utcnow


class Base(DeclarativeBase):
    pass


class PolicyValue(PolicyColumns, Base):
    """One yearly policy figure (a rate, a bound, an amount): a row of the shared policy store whose `value` is a
    JSON number and whose `effective_from` is 1 January of the year it is first in force (services/insurance/
    policy.py asks by year)."""

    __tablename__ = "policy_values"

    note: Mapped[str | None] = mapped_column(String(300), nullable=True)


class Person(Base):
    """The facts insurance knows about one person, refreshed from every submission that names them."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resident_id: Mapped[str] = mapped_column(String(64), unique=True)
    id_index: Mapped[str] = mapped_column(String(64), unique=True)
    # a newborn without an ID number yet is known by the birth-certificate number (出生医学证明) instead
    id_number_encrypted: Mapped[str | None] = mapped_column(String(512), nullable=True)
    birth_certificate_encrypted: Mapped[str | None] = mapped_column(String(512), nullable=True)
    id_number_masked: Mapped[str] = mapped_column(String(32))  # or the masked certificate number
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(8))
    hukou: Mapped[str] = mapped_column(String(16))  # "cixi" | "other"
    permit_number_encrypted: Mapped[str | None] = mapped_column(String(512), nullable=True)
    permit_issued_in_cixi: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    permit_valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class EmploymentRegistration(Base):
    """就业登记 / 灵活就业登记: employed through an employer, or a flexible worker."""

    __tablename__ = "employment_registrations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "employee" | "flexible"
    employer_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    start_date: Mapped[date] = mapped_column(Date)
    registered_on: Mapped[date] = mapped_column(Date)
    town: Mapped[str] = mapped_column(String(20))
    days_after_start: Mapped[int] = mapped_column(Integer)
    late: Mapped[bool] = mapped_column(Boolean)
    # a woman's post decides her retirement age; None when not recorded (services/insurance/retirement.py)
    retirement_category: Mapped[str | None] = mapped_column(String(16), nullable=True)
    registered_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    person: Mapped[Person] = relationship(lazy="joined")


class Enrolment(Base):
    """One person in one scheme through one route, with its lifecycle and coverage period."""

    __tablename__ = "enrolments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    guardian_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), nullable=True)
    scheme: Mapped[str] = mapped_column(String(16))  # "pension" | "medical"
    route: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))
    town: Mapped[str] = mapped_column(String(20))
    policy_year: Mapped[int] = mapped_column(Integer)
    contribution_base_fen: Mapped[int | None] = mapped_column(Integer, nullable=True)
    monthly_contribution_fen: Mapped[int | None] = mapped_column(Integer, nullable=True)
    personal_account_fen: Mapped[int | None] = mapped_column(Integer, nullable=True)
    employer_contribution_fen: Mapped[int | None] = mapped_column(Integer, nullable=True)
    yearly_contribution_fen: Mapped[int | None] = mapped_column(Integer, nullable=True)
    policy_ref: Mapped[str] = mapped_column(Text)
    birth_certificate_encrypted: Mapped[str | None] = mapped_column(String(512), nullable=True)
    eligibility: Mapped[str] = mapped_column(Text)  # JSON: the rules evaluated at submission
    requested_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    coverage_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    coverage_end: Mapped[date | None] = mapped_column(Date, nullable=True)  # None for pension: continuous
    reminded_for_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    submitted_by: Mapped[str] = mapped_column(String(100))
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    person: Mapped[Person] = relationship(foreign_keys=[person_id], lazy="joined")
    guardian: Mapped[Person | None] = relationship(foreign_keys=[guardian_id], lazy="joined")

    __table_args__ = (
        # the database itself refuses a second live enrolment of one person in one scheme (races included)
        Index(
            "uq_enrolments_live",
            "person_id",
            "scheme",
            unique=True,
            sqlite_where=text(_LIVE_SQL),
            postgresql_where=text(_LIVE_SQL),
        ),
        Index("ix_enrolments_status_end", "status", "coverage_end"),
    )


class PensionContribution(Base):
    """One month's pension contribution recorded as paid (the tax bureau collects it; the counter records the
    receipt). A month is paid once; months not recorded are arrears (services/insurance/lifecycle.py)."""

    __tablename__ = "pension_contributions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    enrolment_id: Mapped[str] = mapped_column(ForeignKey("enrolments.id"), index=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    amount_fen: Mapped[int] = mapped_column(Integer)
    paid_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("uq_pension_contributions_month", "enrolment_id", "month", unique=True),)


class Appeal(AppealColumns, Base):
    """An appeal (复核申请) against a rejected enrolment (shared/cixi/appeals.py)."""

    __tablename__ = "appeals"


class Job(JobColumns, Base):
    """A batch run as a job (shared/platform/jobs.py): the retention purge."""

    __tablename__ = "jobs"

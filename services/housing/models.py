"""housing's tables. Only this service reads or writes them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, synonym

from shared.cixi.appeals import AppealColumns
from shared.platform.jobs import JobColumns
from shared.platform.models import utcnow
from shared.platform.policy_store import DOCUMENT, PolicyColumns


class Base(DeclarativeBase):
    pass


class PolicyVersion(PolicyColumns, Base):
    """One version of a programme's rules (thresholds, amounts, switches), in force from `effective_from`: a row
    of the shared policy store (shared/platform/policy_store.py) whose `name` is the programme and whose `value` is the
    JSON document of its rules (unit `document`).

    Every amount housing computes records the id and reference of the row it was computed from.
    """

    __tablename__ = "policy_versions"

    unit: Mapped[str] = mapped_column(String(20), default=DOCUMENT)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    programme = synonym("name")  # housing's word for the row's name
    rules = synonym("value")  # the programme's rules, as JSON

    __table_args__ = (UniqueConstraint("name", "effective_from", name="uq_policy_programme_from"),)


class OpenCase(Base):
    """A resident holds at most one open case across both programmes (subsidy or 保租房)."""

    __tablename__ = "open_cases"

    resident_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    programme: Mapped[str] = mapped_column(String(20))  # "subsidy" | "tenancy"
    case_id: Mapped[str] = mapped_column(String(36))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class _Applicant:
    """Columns every application has: the applicant, stored encrypted with masks and blind indexes."""

    resident_id: Mapped[str] = mapped_column(String(64), index=True)
    id_number_encrypted: Mapped[str] = mapped_column(Text)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(50))
    phone_encrypted: Mapped[str] = mapped_column(Text)
    phone_index: Mapped[str] = mapped_column(String(64), index=True)
    phone_masked: Mapped[str] = mapped_column(String(11))
    town: Mapped[str] = mapped_column(String(20))
    submitted_by: Mapped[str] = mapped_column(String(100))
    owner_subject: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reasons: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of machine-readable codes


class SubsidyApplication(_Applicant, Base):
    __tablename__ = "subsidy_applications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    category: Mapped[str] = mapped_column(String(30))
    household_size: Mapped[int] = mapped_column(Integer)
    monthly_rent_fen: Mapped[int] = mapped_column(Integer)
    has_residence_permit: Mapped[bool] = mapped_column(Boolean)
    owns_home_in_cixi: Mapped[bool] = mapped_column(Boolean)
    employed_in_cixi: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    eligibility_policy_id: Mapped[int] = mapped_column(ForeignKey("policy_versions.id"))
    appealed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    appeal_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    monthly_subsidy_fen: Mapped[int | None] = mapped_column(Integer, nullable=True)
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policy_versions.id"), nullable=True)
    policy_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    start_period: Mapped[str | None] = mapped_column(String(7), nullable=True)
    end_period: Mapped[str | None] = mapped_column(String(7), nullable=True)
    recertified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # recorded by legacy import and not yet decided on the platform by a reviewer: a live disbursement skips it
    legacy: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_subsidy_active", "status", "start_period", "end_period"),)


class SubsidyRecertification(Base):
    """A re-certification's outcome on an approved subsidy: applied at once, or proposed and awaiting a reviewer
    who is not its proposer (services/housing/recertification.py)."""

    __tablename__ = "subsidy_recertifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("subsidy_applications.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # awaiting_review | approved | rejected | applied
    changes: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the facts that changed
    previous_monthly_subsidy_fen: Mapped[int] = mapped_column(Integer)
    monthly_subsidy_fen: Mapped[int] = mapped_column(Integer)
    previous_end_period: Mapped[str] = mapped_column(String(7))
    end_period: Mapped[str] = mapped_column(String(7))
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy_versions.id"))
    policy_ref: Mapped[str] = mapped_column(String(200))
    proposed_by: Mapped[str] = mapped_column(String(100))
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)


class Appeal(AppealColumns, Base):
    """An appeal (复核申请) against an ineligible or rejected subsidy application (shared/cixi/appeals.py)."""

    __tablename__ = "appeals"


class Disbursement(Base):
    """One payment per household (resident) per month; the unique constraint makes re-runs pay nobody twice."""

    __tablename__ = "disbursements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("subsidy_applications.id"))
    resident_id: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(7))
    amount_fen: Mapped[int] = mapped_column(Integer)
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policy_versions.id"), nullable=True)
    disbursed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("period", "resident_id", name="uq_disbursement_period_household"),)


class Job(JobColumns, Base):
    """A disbursement or an expiry sweep run as a job (shared/platform/jobs.py)."""

    __tablename__ = "jobs"


# --- 保障性租赁住房 (affordable rental housing) --------------------------------------------------------


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    operator: Mapped[str] = mapped_column(String(100))
    town: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(30))
    year_raised: Mapped[int] = mapped_column(Integer)
    planned_units: Mapped[int] = mapped_column(Integer, default=0)  # the units it raises (筹建), listed or not
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    unit_no: Mapped[str] = mapped_column(String(30))
    area_m2: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    monthly_rent_fen: Mapped[int] = mapped_column(Integer)
    market_rent_fen: Mapped[int] = mapped_column(Integer)
    rent_policy_id: Mapped[int] = mapped_column(ForeignKey("policy_versions.id"))
    status: Mapped[str] = mapped_column(String(20), index=True)  # vacant | let | withdrawn
    listed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("project_id", "unit_no", name="uq_unit_project_no"),)


class TenancyApplication(_Applicant, Base):
    __tablename__ = "tenancy_applications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    household_size: Mapped[int] = mapped_column(Integer)
    is_local_hukou: Mapped[bool] = mapped_column(Boolean)
    has_residence_permit: Mapped[bool] = mapped_column(Boolean)
    owns_home_in_cixi: Mapped[bool] = mapped_column(Boolean)
    employed_in_cixi: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20), index=True)  # submitted | ineligible | allocated | withdrawn
    eligibility_policy_id: Mapped[int] = mapped_column(ForeignKey("policy_versions.id"))


class Tenancy(Base):
    __tablename__ = "tenancies"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("tenancy_applications.id"), unique=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    resident_id: Mapped[str] = mapped_column(String(64), index=True)
    town: Mapped[str] = mapped_column(String(20))
    monthly_rent_fen: Mapped[int] = mapped_column(Integer)
    # the day the rent in force was set (start, or the last rise): the annual increase cap counts from it
    rent_set_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))  # active | ended
    allocated_by: Mapped[str] = mapped_column(String(100))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)


# --- 运营奖补 (operator subsidies) ---------------------------------------------------------------------


class OperatorAssessment(Base):
    __tablename__ = "operator_assessments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    year: Mapped[int] = mapped_column(Integer)
    units: Mapped[int] = mapped_column(Integer)
    occupied_units: Mapped[int] = mapped_column(Integer)
    area_m2: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    amount_fen: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[str] = mapped_column(Text, default="[]")
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy_versions.id"))
    policy_ref: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # assessed | approved | rejected | ineligible
    assessed_by: Mapped[str] = mapped_column(String(100))
    assessed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (UniqueConstraint("project_id", "year", name="uq_operator_assessment_project_year"),)


# --- plans (stock to raise, operator-subsidy budget): forecasts the report sets beside what happened ------


class HousingPlan(Base):
    __tablename__ = "housing_plans"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # stock | operator_subsidy
    year: Mapped[int] = mapped_column(Integer)
    projects: Mapped[int] = mapped_column(Integer, default=0)
    units: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(Integer, default=0)
    policy_ref: Mapped[str] = mapped_column(String(200))
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("kind", "year", name="uq_housing_plan_kind_year"),)

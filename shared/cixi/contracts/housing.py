"""Events published by housing. Personal data travels only as `resident_id` (a keyed pseudonym) or,
for the contact notify needs, encrypted with the platform's field-encryption key."""

from shared.cixi.contracts.appeals import register_appeal_events
from shared.platform.contracts import (
    DataSchema,
    fields,
    note_for_resident,
    reason_code,
    reason_codes,
    register,
    validate,
)

CATEGORIES = ("new_graduate", "talent", "outstanding_migrant", "frontline_worker")

# Reason codes housing may put in an event (notify words every one for the resident; docs/events.md).
# The eligibility rules' codes (services/housing/rules.py), for a refusal and for an exit on re-check:
ELIGIBILITY_REASONS = (
    "under_min_age",
    "no_residence_permit",
    "owns_home_in_cixi",
    "not_employed_in_cixi",
    "category_not_covered",
    "household_size_not_covered",
)
# a reviewer's refusal; the reviewer's note reaches the resident only as `note_for_resident`
REJECTION_REASONS = (*ELIGIBILITY_REASONS, "rejected_on_review")
NO_LONGER_ELIGIBLE = "no_longer_eligible"  # re-checked and refused; the rules that failed in `eligibility_reasons`
# a caseworker ends a subsidy with one of the first five; the platform with the last two
SUBSIDY_END_REASONS = (
    "bought_home", "left_employment", "left_cixi", "sublet", "tenant_request", NO_LONGER_ELIGIBLE, "term_expired",
)  # fmt: skip
# a caseworker ends a tenancy with one of the first six; the platform with the last
TENANCY_END_REASONS = (
    "bought_home", "left_employment_in_cixi", "sublet", "arrears", "lease_expired", "moved_out", NO_LONGER_ELIGIBLE,
)  # fmt: skip

NOTIFY_AND_STATS = ("notify", "stats")
PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$"  # a calendar month, YYYY-MM


class _Case(DataSchema):
    application_id = fields.String(required=True)
    resident_id = fields.String(required=True, validate=validate.Length(min=8, max=64))
    town = fields.String(required=True)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))


@register("housing", "contact_provided", consumers=("notify",))
class ContactProvided(DataSchema):
    """A resident's contact as given on an application, so notify (which owns contacts) can reach them."""

    resident_id = fields.String(required=True, validate=validate.Length(min=8, max=64))
    phone_encrypted = fields.String(required=True, validate=validate.Length(min=16, max=512))
    town = fields.String(required=True)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))


class _Backfillable(_Case):
    # true for history recorded after the fact (cases decided, payments made before the platform):
    # counted by stats, never messaged to the resident
    backfill = fields.Boolean(load_default=False)


@register("housing", "subsidy_application_submitted", consumers=("stats",))
class SubsidyApplicationSubmitted(_Backfillable):
    household_size = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10))
    status = fields.String(required=True, validate=validate.OneOf(("submitted", "ineligible")))
    reasons = reason_codes(ELIGIBILITY_REASONS, required=True)
    submitted_at = fields.AwareDateTime(required=True)


@register("housing", "subsidy_approved", consumers=NOTIFY_AND_STATS)
class SubsidyApproved(_Backfillable):
    household_size = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10))
    monthly_subsidy_fen = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    approved_at = fields.AwareDateTime(required=True)
    policy_ref = fields.String(required=True)


@register("housing", "subsidy_rejected", consumers=NOTIFY_AND_STATS)
class SubsidyRejected(_Case):
    reasons = reason_codes(REJECTION_REASONS, required=True)
    note_for_resident = note_for_resident()
    rejected_at = fields.AwareDateTime(required=True)


@register("housing", "subsidy_disbursed", consumers=NOTIFY_AND_STATS)
class SubsidyDisbursed(_Backfillable):
    disbursement_id = fields.String(required=True)
    period = fields.String(required=True, validate=validate.Regexp(PERIOD))
    amount_fen = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    disbursed_at = fields.AwareDateTime(required=True)


@register("housing", "subsidy_ended", consumers=NOTIFY_AND_STATS)
class SubsidyEnded(_Case):
    reason = reason_code(SUBSIDY_END_REASONS, required=True)
    eligibility_reasons = reason_codes(ELIGIBILITY_REASONS, load_default=list)
    ended_at = fields.AwareDateTime(required=True)


@register("housing", "subsidy_recertified", consumers=NOTIFY_AND_STATS)
class SubsidyRecertified(_Case):
    """A re-certification applied: the amount and term the subsidy now runs on. `reviewed` is true when it was a
    new decision (a raise, a renewed term, or a legacy case's first), approved by a second person."""

    household_size = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10))
    monthly_subsidy_fen = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    previous_monthly_subsidy_fen = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    end_period = fields.String(required=True, validate=validate.Regexp(PERIOD))
    reviewed = fields.Boolean(required=True)
    policy_ref = fields.String(required=True)
    recertified_at = fields.AwareDateTime(required=True)


@register("housing", "tenancy_started", consumers=NOTIFY_AND_STATS)
class TenancyStarted(DataSchema):
    tenancy_id = fields.String(required=True)
    project_id = fields.String(required=True)
    unit_id = fields.String(required=True)
    resident_id = fields.String(required=True, validate=validate.Length(min=8, max=64))
    town = fields.String(required=True)
    monthly_rent_fen = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)


@register("housing", "tenancy_ended", consumers=NOTIFY_AND_STATS)
class TenancyEnded(DataSchema):
    tenancy_id = fields.String(required=True)
    resident_id = fields.String(required=True, validate=validate.Length(min=8, max=64))
    town = fields.String(required=True)
    reason = reason_code(TENANCY_END_REASONS, required=True)
    eligibility_reasons = reason_codes(ELIGIBILITY_REASONS, load_default=list)
    ended_at = fields.AwareDateTime(required=True)


@register("housing", "operator_subsidy_approved", consumers=("stats",))
class OperatorSubsidyApproved(DataSchema):
    assessment_id = fields.String(required=True)
    project_id = fields.String(required=True)
    town = fields.String(required=True)
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2100))
    units = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    amount_fen = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    policy_ref = fields.String(required=True)
    approved_at = fields.AwareDateTime(required=True)


PROJECT_KINDS = ("new_build", "conversion", "enterprise_dormitory", "acquired")


@register("housing", "project_raised", consumers=("stats",))
class ProjectRaised(DataSchema):
    """A 保租房 project taken into the stock (筹建) with the units it raises (seed §1: 48,888 units to date)."""

    project_id = fields.String(required=True)
    town = fields.String(required=True)
    kind = reason_code(PROJECT_KINDS, required=True)
    year_raised = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2100))
    units = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))


@register("housing", "stock_planned", consumers=("stats",))
class StockPlanned(DataSchema):
    """The year's planned addition to the stock (seed §1: 2025年预计新增筹建3800套), a plan, not units raised."""

    plan_id = fields.String(required=True)
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2100))
    units = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    policy_ref = fields.String(required=True, validate=validate.Length(min=1, max=200))


@register("housing", "operator_subsidy_planned", consumers=("stats",))
class OperatorSubsidyPlanned(DataSchema):
    """The year's operator-subsidy budget forecast from its policy row (seed §1: 2025, ~50 projects, ~9,000
    units, 10 million yuan): a figure to compare the approved subsidies against, never a rate."""

    plan_id = fields.String(required=True)
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2100))
    projects = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    units = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    amount_fen = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    policy_ref = fields.String(required=True, validate=validate.Length(min=1, max=200))


register_appeal_events("housing", consumers=NOTIFY_AND_STATS)

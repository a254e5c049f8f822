"""Events published by insurance. A person travels only as `resident_id` (the keyed pseudonym); no ID,
permit, birth-certificate or phone number is ever in an event.

Consumers: stats counts enrolment facts; notify messages the resident (for a child's enrolment, the
guardian) on enrolment_activated, enrolment_rejected, enrolment_suspended, enrolment_ended, enrolment_lapsed,
renewal_due and a late employment_registered.

Medical insurance runs in yearly periods (renewed, reminded, lapsed: those events are medical only). Enterprise
pension is continuous: its `coverage_end` is null, it is paid month by month (contribution_recorded) and ends
on retirement or transfer out (docs/policy.md).
"""

from marshmallow import ValidationError, validates_schema

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

SCHEMES = ("pension", "medical")
PERIODIC_SCHEMES = ("medical",)  # renewed year by year; pension is continuous
ROUTES = ("employee", "flexible", "employee_points", "resident", "newborn", "preschool")

# Reason codes insurance may put in an event (notify words every one for the resident; docs/events.md). A
# reviewer picks one; their own words reach the resident only as `note_for_resident`.
# The eligibility rules (services/insurance/rules.py) a refusal names, then the reviewer's own findings:
REJECTION_REASONS = (
    "working_age", "minimum_age", "employee_registration", "flexible_registration", "non_local_hukou",
    "cixi_residence", "zhejiang_permit", "newborn_age", "birth_certificate", "parent_insured",
    "parent_contribution_months", "parent_cixi_permit", "past_newborn_age", "preschool_age",
    "documents_incomplete", "insured_elsewhere", "rejected_on_review",
)  # fmt: skip
SUSPENSION_REASONS = ("arrears", "permit_expired", "documents_under_review", "resident_request")
END_REASONS = ("retired", "transferred_out", "insured_elsewhere", "left_cixi", "deceased", "resident_request")
STATS = ("stats",)
NOTIFY_AND_STATS = ("notify", "stats")


def _resident_id(**kwargs):
    return fields.String(validate=validate.Length(min=8, max=64), **kwargs)


class _Enrolment(DataSchema):
    enrolment_id = fields.String(required=True)
    resident_id = _resident_id(required=True)
    # for a child's enrolment, the parent who applied (the one to notify)
    guardian_resident_id = _resident_id(required=True, allow_none=True)
    scheme = fields.String(required=True, validate=validate.OneOf(SCHEMES))
    route = fields.String(required=True, validate=validate.OneOf(ROUTES))
    town = fields.String(required=True)


class _Coverage(_Enrolment):
    coverage_start = fields.Date(required=True)
    coverage_end = fields.Date(required=True, allow_none=True)  # null for pension: continuous

    @validates_schema
    def _pension_has_no_end(self, data, **kwargs):
        periodic = data.get("scheme") in PERIODIC_SCHEMES
        if data.get("coverage_end") is None and periodic:
            raise ValidationError({"coverage_end": ["a medical period has an end"]})
        if data.get("coverage_end") is not None and not periodic:
            raise ValidationError({"coverage_end": ["pension is continuous: no period end"]})


class _Period(_Coverage):
    """An event of a yearly period: medical insurance only."""

    scheme = fields.String(required=True, validate=validate.OneOf(PERIODIC_SCHEMES))


@register("insurance", "employment_registered", consumers=NOTIFY_AND_STATS)
class EmploymentRegistered(DataSchema):
    registration_id = fields.String(required=True)
    resident_id = _resident_id(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("employee", "flexible")))
    town = fields.String(required=True)
    start_date = fields.Date(required=True)
    registered_on = fields.Date(required=True)
    days_after_start = fields.Integer(required=True, strict=True)
    late = fields.Boolean(required=True)
    registered_at = fields.AwareDateTime(required=True)


@register("insurance", "enrolment_created", consumers=STATS)
class EnrolmentCreated(_Enrolment):
    policy_year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2100))
    submitted_at = fields.AwareDateTime(required=True)


@register("insurance", "enrolment_activated", consumers=NOTIFY_AND_STATS)
class EnrolmentActivated(_Coverage):
    policy_year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2100))
    contribution_base_fen = fields.Integer(required=True, strict=True, allow_none=True)
    monthly_contribution_fen = fields.Integer(required=True, strict=True, allow_none=True)
    yearly_contribution_fen = fields.Integer(required=True, strict=True, allow_none=True)
    policy_ref = fields.String(required=True)
    activated_at = fields.AwareDateTime(required=True)


@register("insurance", "enrolment_rejected", consumers=NOTIFY_AND_STATS)
class EnrolmentRejected(_Enrolment):
    reasons = reason_codes(REJECTION_REASONS, required=True, validate=validate.Length(min=1))
    note_for_resident = note_for_resident()
    rejected_at = fields.AwareDateTime(required=True)


@register("insurance", "enrolment_suspended", consumers=NOTIFY_AND_STATS)
class EnrolmentSuspended(_Coverage):
    reason = reason_code(SUSPENSION_REASONS, required=True)
    note_for_resident = note_for_resident()
    suspended_at = fields.AwareDateTime(required=True)


@register("insurance", "enrolment_resumed", consumers=STATS)
class EnrolmentResumed(_Coverage):
    resumed_at = fields.AwareDateTime(required=True)


@register("insurance", "enrolment_lapsed", consumers=NOTIFY_AND_STATS)
class EnrolmentLapsed(_Period):
    lapsed_at = fields.AwareDateTime(required=True)


@register("insurance", "enrolment_renewed", consumers=STATS)
class EnrolmentRenewed(_Period):
    renewed_at = fields.AwareDateTime(required=True)


@register("insurance", "enrolment_ended", consumers=NOTIFY_AND_STATS)
class EnrolmentEnded(_Enrolment):
    reason = reason_code(END_REASONS, required=True)
    ended_at = fields.AwareDateTime(required=True)


@register("insurance", "renewal_due", consumers=NOTIFY_AND_STATS)
class RenewalDue(_Period):
    days_left = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))


@register("insurance", "contribution_recorded", consumers=STATS)
class ContributionRecorded(_Enrolment):
    """One month of an enterprise pension paid."""

    scheme = fields.String(required=True, validate=validate.OneOf(("pension",)))
    month = fields.String(required=True, validate=validate.Regexp(r"[0-9]{4}-(0[1-9]|1[0-2])\Z"))
    amount_fen = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    paid_on = fields.Date(required=True)
    recorded_at = fields.AwareDateTime(required=True)


register_appeal_events("insurance", consumers=("notify", "stats"))

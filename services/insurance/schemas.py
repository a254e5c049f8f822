"""marshmallow schemas of insurance's RPC input and output.

`load(schema, payload)` turns marshmallow's nested messages into one `ValidationError` naming every bad
field, so a caller fixes a form in one round trip.
"""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, post_load, validate, validates_schema
from marshmallow import ValidationError as MarshmallowValidationError

from services.insurance.lifecycle import STATUSES
from services.insurance.retirement import FEMALE_CATEGORIES
from services.insurance.rules import ROUTES, base_range
from shared.cixi.contracts.insurance import END_REASONS, REJECTION_REASONS, SUSPENSION_REASONS
from shared.cixi.towns import resolve_town
from shared.platform.clock import local_today
from shared.platform.personal_data import (
    InvalidBirthCertificate,
    InvalidIdNumber,
    normalise_birth_certificate,
    normalise_id_number,
    sex_from_id,
)
from shared.platform.validation import Text

MAX_PAGE = 200


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def _check_id_number(value: str) -> None:
    try:
        normalise_id_number(value)
    except InvalidIdNumber as exc:
        raise MarshmallowValidationError(f"not a valid resident ID number: {exc}") from None


class TownField(Text):
    """A Cixi division by name, code or old name; loads as the current full name."""

    def __init__(self, **kwargs):
        super().__init__(max_length=20, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        town = resolve_town(super()._deserialize(value, attr, data, **kwargs))
        if town is None:
            raise MarshmallowValidationError("not a Cixi subdistrict or town")
        return town.name


class IdNumberField(Text):
    def __init__(self, **kwargs):
        super().__init__(max_length=32, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        _check_id_number(text)
        return normalise_id_number(text)


class BirthCertificateField(Text):
    """出生医学证明 number; the message never repeats the value (it is personal data like an ID number)."""

    def __init__(self, **kwargs):
        super().__init__(max_length=40, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalise_birth_certificate(text)
        except InvalidBirthCertificate as exc:
            raise MarshmallowValidationError(f"not a valid birth-certificate number: {exc}") from None


class PermitSchema(_Strict):
    number = Text(required=True, min_length=4, max_length=40)
    issued_in_cixi = fields.Boolean(required=True)
    valid_until = fields.Date(required=True)


class PersonSchema(_Strict):
    id_number = IdNumberField(required=True)
    hukou = fields.String(required=True, validate=validate.OneOf(("cixi", "other")))
    residence_permit = fields.Nested(PermitSchema, load_default=None, allow_none=True)


class RecordedCoverSchema(_Strict):
    """The parent's Cixi basic medical insurance held elsewhere, as the caseworker saw it evidenced."""

    scheme = fields.String(required=True, validate=validate.OneOf(("employee", "employee_points", "resident")))
    insured_since = fields.Date(required=True)
    benefits_normal = fields.Boolean(required=True)


class ParentSchema(PersonSchema):
    employee_contribution_months = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=0, max=1200)
    )
    medical_cover = fields.Nested(RecordedCoverSchema, load_default=None, allow_none=True)


class ResidentSchema(PersonSchema):
    """The person a question or an enrolment is about; a child's comes with the applying parent. A newborn
    not yet issued an ID number is known by the birth certificate, with the birth date and sex it states."""

    id_number = IdNumberField(load_default=None, allow_none=True)
    parent = fields.Nested(ParentSchema, load_default=None, allow_none=True)
    birth_certificate_number = BirthCertificateField(load_default=None, allow_none=True)
    birth_date = fields.Date(load_default=None, allow_none=True)
    sex = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("male", "female")))

    @validates_schema(skip_on_field_errors=False)
    def _identified(self, data, **kwargs):
        errors: dict[str, list[str]] = {}
        if data.get("id_number"):
            for name in ("birth_date", "sex"):
                if data.get(name) is not None:
                    errors[name] = ["comes from the ID number: give it only for a child without one"]
        elif "id_number" not in data:
            pass  # a bad ID number: reported by its field
        elif "birth_certificate_number" in data and data["birth_certificate_number"] is None:
            # neither given (a bad ID number is already reported as such, and stays the message)
            errors["id_number"] = ["required (a newborn without one: birth_certificate_number, birth_date, sex)"]
        else:
            for name in ("birth_date", "sex"):
                if data.get(name) is None and name in data:
                    errors[name] = ["required with a birth certificate in place of an ID number"]
        born = data.get("birth_date")
        today = self.context.get("today") or local_today()
        if born is not None and born > today:
            errors["birth_date"] = [f"cannot be after today ({today})"]
        if errors:
            raise MarshmallowValidationError(errors)


class EmploymentSchema(_Strict):
    resident = fields.Nested(PersonSchema, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("employee", "flexible")))
    employer_name = Text(load_default=None, allow_none=True, min_length=2, max_length=200)
    start_date = fields.Date(required=True)
    registered_on = fields.Date(load_default=None, allow_none=True)
    town = TownField(required=True)
    # a woman's post (工人 or 干部 岗位), from her employer's record; it decides her retirement age
    retirement_category = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(FEMALE_CATEGORIES))

    @validates_schema(skip_on_field_errors=False)
    def _consistent(self, data, **kwargs):
        errors: dict[str, list[str]] = {}
        number = (data.get("resident") or {}).get("id_number")
        if data.get("retirement_category") and number and sex_from_id(number) != "female":
            errors["retirement_category"] = ["only a woman's post is recorded: a man's retirement age has one rule"]
        if data.get("kind") == "employee" and not data.get("employer_name"):
            errors["employer_name"] = ["required for an employee registration"]
        if data.get("kind") == "flexible" and data.get("employer_name"):
            errors["employer_name"] = ["a flexible worker has no employer"]
        today = self.context["today"]
        registered_on = data.get("registered_on") or today
        if registered_on > today:
            errors["registered_on"] = [f"cannot be after today ({today})"]
        start = data.get("start_date")
        if start is not None and start > registered_on:
            errors["start_date"] = [f"work must have started by the registration date ({registered_on})"]
        if errors:
            raise MarshmallowValidationError(errors)


class _EnrolmentSchema(_Strict):
    resident = fields.Nested(ResidentSchema, required=True)
    town = TownField(required=True)
    start_date = fields.Date(load_default=None, allow_none=True)

    @validates_schema(skip_on_field_errors=False)
    def _id_number_unless_newborn(self, data, **kwargs):
        resident = data.get("resident") or {}
        if resident and not resident.get("id_number") and data.get("route") != "newborn":
            raise MarshmallowValidationError(
                {"resident.id_number": ["required: only a newborn may be enrolled on the birth certificate"]}
            )


class PensionEnrolmentSchema(_EnrolmentSchema):
    route = fields.String(required=True, validate=validate.OneOf(ROUTES["pension"]))
    contribution_base_fen = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))

    @validates_schema(skip_on_field_errors=False)
    def _base_in_range(self, data, **kwargs):
        base = data.get("contribution_base_fen")
        if base is None:
            return
        year = (data.get("start_date") or self.context["today"]).year
        allowed = base_range(self.context["book"], year)
        if not allowed.min_fen <= base <= allowed.max_fen:
            raise MarshmallowValidationError(allowed.message(), "contribution_base_fen")


class MedicalEnrolmentSchema(_EnrolmentSchema):
    route = fields.String(required=True, validate=validate.OneOf(ROUTES["medical"]))

    @validates_schema(skip_on_field_errors=False)
    def _child_routes(self, data, **kwargs):
        resident = data.get("resident") or {}
        errors = {}
        if data.get("route") in ("newborn", "preschool") and not resident.get("parent"):
            errors["resident.parent"] = ["required for a child's enrolment"]
        if data.get("route") == "newborn" and not resident.get("birth_certificate_number"):
            errors["resident.birth_certificate_number"] = ["required for a newborn (出生医学证明)"]
        if errors:
            raise MarshmallowValidationError(errors)


SCHEME_CHOICES = tuple([*ROUTES] + [f"{scheme}.{route}" for scheme, routes in ROUTES.items() for route in routes])


class EligibilitySchema(_Strict):
    resident = fields.Nested(ResidentSchema, required=True)
    scheme = fields.String(required=True, validate=validate.OneOf(SCHEME_CHOICES))
    on = fields.Date(load_default=None, allow_none=True)

    @post_load
    def _split(self, data, **kwargs):
        scheme, _, route = data["scheme"].partition(".")
        data["scheme"], data["routes"] = scheme, (route,) if route else ROUTES[scheme]
        return data


class DecisionSchema(_Strict):
    enrolment_id = Text(required=True, min_length=1, max_length=36)
    reason = Text(load_default=None, allow_none=True, min_length=2, max_length=500, multiline=True)


class _NotedDecision(DecisionSchema):
    """A decision with a reason code and, filed with it, the reviewer's own words."""

    note = Text(load_default=None, allow_none=True, min_length=2, max_length=400, multiline=True)


class _ToldDecision(_NotedDecision):
    """A decision the resident is told of: the note is sent too only if the reviewer marks it so."""

    note_for_resident = fields.Boolean(load_default=False)

    @validates_schema
    def _note_if_marked(self, data, **kwargs):
        if data.get("note_for_resident") and not data.get("note"):
            raise MarshmallowValidationError({"note": ["A note marked for the resident must be given."]})


class RejectSchema(_ToldDecision):
    reason = fields.String(required=True, validate=validate.OneOf(REJECTION_REASONS))


class SuspendSchema(_ToldDecision):
    reason = fields.String(required=True, validate=validate.OneOf(SUSPENSION_REASONS))


class EndSchema(_NotedDecision):
    reason = fields.String(required=True, validate=validate.OneOf(END_REASONS))


class ContributionSchema(_Strict):
    """One month's pension contribution, as the receipt shows it paid."""

    enrolment_id = Text(required=True, min_length=1, max_length=36)
    month = fields.String(
        required=True, validate=validate.Regexp(r"[0-9]{4}-(0[1-9]|1[0-2])\Z", error="Must be a month as YYYY-MM.")
    )
    paid_on = fields.Date(load_default=None, allow_none=True)


class ListSchema(_Strict):
    resident_id = Text(load_default=None, allow_none=True, min_length=8, max_length=64)
    id_number = IdNumberField(load_default=None, allow_none=True)
    scheme = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("pension", "medical")))
    route = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(sorted({r for rs in ROUTES.values() for r in rs}))
    )
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STATUSES))
    town = TownField(load_default=None, allow_none=True)
    limit = fields.Integer(load_default=50, strict=True, validate=validate.Range(min=1, max=MAX_PAGE))
    offset = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0))

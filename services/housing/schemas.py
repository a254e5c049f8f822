"""marshmallow schemas of housing's RPC input and output."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from marshmallow import RAISE, Schema, fields, validate
from marshmallow import ValidationError as MarshmallowValidationError

from shared.cixi.contracts.housing import CATEGORIES, PROJECT_KINDS
from shared.cixi.towns import resolve_town
from shared.platform.personal_data import InvalidIdNumber, InvalidPhone, normalise_id_number, normalise_phone
from shared.platform.validation import Text

MAX_RENT_YUAN = Decimal("100000")


class StrictBoolean(fields.Field):
    """Only JSON true/false: "yes", 1 or "false" are refused rather than guessed."""

    default_error_messages = {"invalid": "Not a valid boolean (true or false)."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class _Normalised(fields.String):
    """A string checked and normalised by a shared.platform.personal_data function; its error names the field's kind."""

    max_length = 32
    normalise = staticmethod(str)
    invalid = (ValueError,)
    message = "Not valid."

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > self.max_length:
            raise MarshmallowValidationError("Too long.")
        try:
            return self.normalise(text)
        except self.invalid as exc:
            raise MarshmallowValidationError(f"{self.message}: {exc}.") from None


class IdNumber(_Normalised):
    normalise = staticmethod(normalise_id_number)
    invalid = (InvalidIdNumber,)
    message = "Not a valid resident ID number"


class Phone(_Normalised):
    max_length = 24
    normalise = staticmethod(normalise_phone)
    invalid = (InvalidPhone,)
    message = "Not a valid mainland mobile number"


class Town(fields.String):
    """A Cixi town or subdistrict by name, short name, statistical code or old name; loads its current name."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        town = resolve_town(text) if len(text) <= 20 else None
        if town is None:
            raise MarshmallowValidationError("Not one of Cixi's 20 towns and subdistricts.")
        return town.name


class Yuan(fields.Field):
    """A positive amount in yuan (number or numeric string, at most 2 decimals); loads as integer fen."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            raise MarshmallowValidationError("Not a valid amount.")
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise MarshmallowValidationError("Not a valid amount.") from None
        if not amount.is_finite() or amount <= 0:
            raise MarshmallowValidationError("Must be greater than 0.")
        if amount > MAX_RENT_YUAN:
            raise MarshmallowValidationError(f"Must be at most {MAX_RENT_YUAN}.")
        fen = amount * 100
        if fen != fen.to_integral_value():
            raise MarshmallowValidationError("At most 2 decimal places.")
        return int(fen)


def _name():
    return Text(required=True, min_length=1, max_length=50)


class ApplicantSchema(Schema):
    class Meta:
        unknown = RAISE

    id_number = IdNumber(required=True)
    name = _name()
    phone = Phone(required=True)
    town = Town(required=True)


class SubsidyApplicationSchema(ApplicantSchema):
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    household_size = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10))
    monthly_rent_yuan = Yuan(required=True, data_key="monthly_rent_yuan", attribute="monthly_rent_fen")
    has_residence_permit = StrictBoolean(required=True)
    owns_home_in_cixi = StrictBoolean(required=True)
    employed_in_cixi = StrictBoolean(load_default=None)


class TenancyApplicationSchema(ApplicantSchema):
    household_size = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10))
    is_local_hukou = StrictBoolean(required=True)
    has_residence_permit = StrictBoolean(required=True)
    owns_home_in_cixi = StrictBoolean(required=True)
    employed_in_cixi = StrictBoolean(required=True)


class RecertificationSchema(Schema):
    """Facts that may have changed since approval; what is left out keeps its recorded value."""

    class Meta:
        unknown = RAISE

    household_size = fields.Integer(strict=True, validate=validate.Range(min=1, max=10))
    monthly_rent_yuan = Yuan(data_key="monthly_rent_yuan", attribute="monthly_rent_fen")
    has_residence_permit = StrictBoolean()
    owns_home_in_cixi = StrictBoolean()
    employed_in_cixi = StrictBoolean()


class TenancyRenewalSchema(Schema):
    """Facts that may have changed since admission; what is left out keeps its recorded value."""

    class Meta:
        unknown = RAISE

    is_local_hukou = StrictBoolean()
    has_residence_permit = StrictBoolean()
    owns_home_in_cixi = StrictBoolean()
    employed_in_cixi = StrictBoolean()
    # the rent from the renewal on; a rise is held to the annual cap (rules.rent_increase)
    monthly_rent_yuan = Yuan(data_key="monthly_rent_yuan", attribute="monthly_rent_fen")


class ProjectSchema(Schema):
    class Meta:
        unknown = RAISE

    name = Text(required=True, min_length=1, max_length=100)
    operator = Text(required=True, min_length=1, max_length=100)
    town = Town(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(PROJECT_KINDS))
    year_raised = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2100))
    planned_units = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0, max=100000))


class StockPlanSchema(Schema):
    class Meta:
        unknown = RAISE

    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2100))
    units = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1_000_000))
    policy_ref = Text(required=True, min_length=1, max_length=200)


class PlanYearSchema(Schema):
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2100))


class UnitSchema(Schema):
    class Meta:
        unknown = RAISE

    unit_no = Text(required=True, min_length=1, max_length=30)
    area_m2 = fields.Decimal(required=True, places=2, validate=validate.Range(min=Decimal("5"), max=Decimal("200")))
    monthly_rent_yuan = Yuan(required=True, attribute="monthly_rent_fen")
    market_rent_yuan = Yuan(required=True, attribute="market_rent_fen")


PERIOD = validate.Regexp(r"[0-9]{4}-(0[1-9]|1[0-2])\Z", error="Must be a month as YYYY-MM.")


class PeriodSchema(Schema):
    period = fields.String(required=True, validate=PERIOD)
    backfill = StrictBoolean(load_default=False)


class LegacySubsidySchema(Schema):
    application = fields.Nested(SubsidyApplicationSchema, required=True)
    decided_on = fields.Date(required=True)


class SubsidyApplicationOut(Schema):
    """What callers see: ID number and phone only masked, money in fen."""

    application_id = fields.String(attribute="id")
    resident_id = fields.String()
    id_number = fields.String(attribute="id_number_masked")
    name = fields.String()
    phone = fields.String(attribute="phone_masked")
    town = fields.String()
    category = fields.String()
    household_size = fields.Integer()
    monthly_rent_fen = fields.Integer()
    has_residence_permit = fields.Boolean()
    owns_home_in_cixi = fields.Boolean()
    employed_in_cixi = fields.Boolean(allow_none=True)
    status = fields.String()
    reasons = fields.Method("_reasons")
    submitted_by = fields.String()
    submitted_at = fields.DateTime()
    appealed_by = fields.String(allow_none=True)
    appeal_note = fields.String(allow_none=True)
    reviewed_by = fields.String(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)
    review_note = fields.String(allow_none=True)
    monthly_subsidy_fen = fields.Integer(allow_none=True)
    policy_id = fields.Integer(allow_none=True)
    policy_ref = fields.String(allow_none=True)
    eligibility_policy_id = fields.Integer()
    start_period = fields.String(allow_none=True)
    end_period = fields.String(allow_none=True)
    recertified_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    end_reason = fields.String(allow_none=True)
    legacy = fields.Boolean()

    def _reasons(self, obj):
        return json.loads(obj.reasons or "[]")

"""marshmallow schemas of stats's RPC input."""

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from shared.cixi.towns import resolve_town
from shared.platform.validation import Text

YEARS = validate.Range(min=2000, max=2100)


class SummaryQuery(Schema):
    year = fields.Integer(strict=True, allow_none=True, load_default=None, validate=YEARS)
    town = Text(allow_none=True, load_default=None, max_length=20)

    @validates("town")
    def known_town(self, value, **_kwargs):
        if value is not None and resolve_town(value) is None:
            raise ValidationError("unknown town: give a Cixi division by name, code or old name")


class ReportQuery(Schema):
    from_year = fields.Integer(strict=True, required=True, validate=YEARS)
    to_year = fields.Integer(strict=True, required=True, validate=YEARS)

    @validates_schema
    def from_year_not_after_to_year(self, data, **_kwargs):
        if data["from_year"] > data["to_year"]:
            raise ValidationError("must not be after to_year", field_name="from_year")


class RebuildQuery(Schema):
    repair = fields.Boolean(load_default=False)

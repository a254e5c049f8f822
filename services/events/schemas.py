"""marshmallow schemas of events's RPC input and output.

Input schemas refuse unknown keys and run their cross-field checks even when single fields fail, so a
ValidationError names every bad field at once. `context["now"]` (the service clock) lets them refuse times
in the past.
"""

from __future__ import annotations

import re
from datetime import date

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from shared.cixi.contracts.events import (
    ACCOUNT_CHANNELS,
    KINDS,
    PROGRAMMES,
    PUBLICATION_CHANNELS,
    PUBLICATION_KINDS,
    SERIES,
    TRAINING_TOPICS,
    VENUE_KINDS,
    VISIT_LEADS,
)
from shared.cixi.towns import resolve_town
from shared.platform.personal_data import InvalidIdNumber, InvalidPhone, normalise_id_number, normalise_phone
from shared.platform.validation import Text

REVIEW_DECISIONS = ("approve", "reject")


EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


class Id(fields.String):
    """An id this service issued (a UUID)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not is_id(text):
            raise ValidationError("not a known id")
        return text


def is_id(value) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_in_range = validate.Range(min=EARLIEST, max=LATEST, error="must be between 2000 and 2100")


def _moment_in_range(value) -> None:
    if not EARLIEST <= value.date() <= LATEST:
        raise ValidationError("must be between 2000 and 2100")


def _id_number(value: str) -> None:
    try:
        normalise_id_number(value)
    except InvalidIdNumber as exc:
        raise ValidationError(f"not a valid resident ID number: {exc}") from None


def _phone(value: str) -> None:
    try:
        normalise_phone(value)
    except InvalidPhone:
        raise ValidationError("not a valid mainland mobile number") from None


def _town(value: str) -> None:
    if resolve_town(value) is None:
        raise ValidationError("not one of Cixi's 20 divisions")


class Input(Schema):
    class Meta:
        unknown = RAISE


class ActivityInput(Input):
    title = Text(required=True, min_length=1, max_length=200)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    description = Text(load_default=None, allow_none=True, max_length=5000, multiline=True)
    venue_id = Id(required=True)
    starts_at = fields.AwareDateTime(required=True, validate=_moment_in_range)
    ends_at = fields.AwareDateTime(required=True, validate=_moment_in_range)
    capacity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100_000))
    min_age = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=0, max=120))
    max_age = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=0, max=120))
    organiser = Text(load_default=None, allow_none=True, max_length=200)
    organiser_team_id = Id(load_default=None, allow_none=True)
    moderated = fields.Boolean(load_default=False)

    @validates_schema(skip_on_field_errors=False)
    def check_ranges(self, data, **kwargs):
        errors: dict[str, list[str]] = {}
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            errors["ends_at"] = ["must be after starts_at"]
        now = self.context.get("now")
        if starts and now and starts <= now and self.context.get("check_future", True):
            errors["starts_at"] = ["must be in the future"]
        low, high = data.get("min_age"), data.get("max_age")
        if low is not None and high is not None and low > high:
            errors["max_age"] = ["must not be below min_age"]
        if errors:
            raise ValidationError(errors)


class CancelActivityInput(Input):
    reason = Text(required=True, min_length=1, max_length=500, multiline=True)


class RegisterInput(Input):
    activity_id = Id(required=True)
    id_number = Text(required=True, max_length=32, validate=_id_number)
    phone = Text(load_default=None, allow_none=True, max_length=24, validate=_phone)
    children = fields.List(
        Text(max_length=32, validate=_id_number), load_default=list, validate=validate.Length(max=20)
    )
    registrant_attends = fields.Boolean(load_default=True)
    priority = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=9))

    @validates_schema(skip_on_field_errors=False)
    def check_party(self, data, **kwargs):
        errors: dict[str, list[str]] = {}
        children = data.get("children") or []
        if not data.get("registrant_attends", True) and not children:
            errors["children"] = ["name at least one child when the registrant does not attend"]
        seen: set[str] = set()
        registrant = _normalised(data.get("id_number"))
        for index, raw in enumerate(children):
            number = _normalised(raw)
            if number and (number in seen or number == registrant):
                errors[f"children.{index}"] = ["listed twice (or is the registrant)"]
            seen.add(number)
        if errors:
            raise ValidationError(errors)


def _normalised(raw) -> str | None:
    try:
        return normalise_id_number(raw) if isinstance(raw, str) else None
    except InvalidIdNumber:
        return None


class ReviewInput(Input):
    decision = fields.String(required=True, validate=validate.OneOf(REVIEW_DECISIONS))
    reason = Text(load_default=None, allow_none=True, max_length=500, multiline=True)

    @validates_schema(skip_on_field_errors=False)
    def reason_for_rejection(self, data, **kwargs):
        if data.get("decision") == "reject" and not data.get("reason"):
            raise ValidationError({"reason": ["a rejection needs a reason"]})


class AttendeeInput(Input):
    """Who is checking in or out: their ID number (scanned) or the participant id from the registration."""

    id_number = Text(load_default=None, allow_none=True, max_length=32, validate=_id_number)
    participant_id = Id(load_default=None, allow_none=True)

    @validates_schema(skip_on_field_errors=False)
    def exactly_one(self, data, **kwargs):
        if bool(data.get("id_number")) == bool(data.get("participant_id")):
            raise ValidationError({"id_number": ["give exactly one of id_number and participant_id"]})


class ListActivitiesInput(Input):
    town = Text(load_default=None, allow_none=True, max_length=20, validate=_town)
    kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(KINDS))
    date_from = fields.Date(load_default=None, allow_none=True, validate=_in_range)
    date_to = fields.Date(load_default=None, allow_none=True, validate=_in_range)
    limit = fields.Integer(load_default=500, strict=True, validate=validate.Range(min=1, max=2000))
    offset = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=1_000_000))

    @validates_schema(skip_on_field_errors=False)
    def check_dates(self, data, **kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise ValidationError({"date_to": ["must not be before date_from"]})


class ListRegistrationsInput(Input):
    activity_id = Id(load_default=None, allow_none=True)
    status = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(("pending", "confirmed", "waitlisted", "offered", "rejected", "cancelled", "expired")),
    )
    limit = fields.Integer(load_default=500, strict=True, validate=validate.Range(min=1, max=5000))
    offset = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=1_000_000))


class VenueInput(Input):
    name = Text(required=True, min_length=1, max_length=200)
    kind = fields.String(required=True, validate=validate.OneOf(VENUE_KINDS))
    town = Text(required=True, max_length=20, validate=_town)
    address = Text(load_default=None, allow_none=True, max_length=300)
    shares_venue_id = Id(load_default=None, allow_none=True)  # the branch library a reading room is housed in
    # None: today; a library may be older than the platform's other dates
    opened_on = fields.Date(load_default=None, allow_none=True, validate=validate.Range(min=date(1900, 1, 1)))

    @validates_schema(skip_on_field_errors=False)
    def consistent(self, data, **kwargs):
        problems: dict = {}
        if data.get("shares_venue_id") and data.get("kind") != "reading_room":
            problems["shares_venue_id"] = ["only a reading room shares a branch library's premises"]
        today = self.context.get("today")
        if today and isinstance(data.get("opened_on"), date) and data["opened_on"] > today:
            problems["opened_on"] = ["must not be in the future"]
        if problems:
            raise ValidationError(problems)


class TeamInput(Input):
    name = Text(required=True, min_length=1, max_length=200)
    town = Text(required=True, max_length=20, validate=_town)


class VolunteerInput(Input):
    id_number = Text(required=True, max_length=32, validate=_id_number)
    hours = fields.Decimal(required=True, places=2, validate=validate.Range(min=0.25, max=24))


class ServiceHoursInput(Input):
    team_id = Id(required=True)
    service_date = fields.Date(required=True, validate=_in_range)
    people_served = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=100_000))
    volunteers = fields.List(fields.Nested(VolunteerInput), required=True, validate=validate.Length(min=1, max=500))
    activity_id = Id(load_default=None, allow_none=True)

    @validates_schema(skip_on_field_errors=False)
    def distinct_volunteers(self, data, **kwargs):
        numbers = [_normalised(v.get("id_number")) for v in data.get("volunteers") or [] if isinstance(v, dict)]
        numbers = [n for n in numbers if n]
        if len(numbers) != len(set(numbers)):
            raise ValidationError({"volunteers": ["a volunteer is listed twice"]})
        today = self.context.get("today")
        if today and data.get("service_date") and data["service_date"] > today:
            raise ValidationError({"service_date": ["must not be in the future"]})


# --- what the Center counts after the fact (records.py) ------------------------------------------------

COUNT = validate.Range(min=0, max=1_000_000)


class _NotAhead(Input):
    """A record of something done: its `DATED` field must not be after the service's today (context["today"])."""

    DATED = ""

    @validates_schema(skip_on_field_errors=False)
    def not_ahead(self, data, **kwargs):
        today = self.context.get("today")
        if today and isinstance(data.get(self.DATED), date) and data[self.DATED] > today:
            raise ValidationError({self.DATED: ["must not be in the future"]})


class HeldActivityInput(_NotAhead):
    """A held activity: at a registered venue, or at a place in a town (a school, a square) that is not one."""

    DATED = "held_on"

    title = Text(required=True, min_length=1, max_length=200)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    programme = fields.String(required=True, validate=validate.OneOf(PROGRAMMES))
    venue_id = Id(load_default=None, allow_none=True)
    town = Text(load_default=None, allow_none=True, max_length=20, validate=_town)
    place = Text(load_default=None, allow_none=True, min_length=1, max_length=200)
    held_on = fields.Date(required=True, validate=_in_range)
    headcount = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=100_000))
    child_headcount = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=100_000))
    series = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(SERIES))
    edition = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=1000))

    @validates_schema(skip_on_field_errors=False)
    def consistent(self, data, **kwargs):
        problems: dict = {}
        if (data.get("series") is None) != (data.get("edition") is None):
            problems["edition" if data.get("series") else "series"] = ["a series and its edition go together"]
        if not data.get("venue_id") and not (data.get("town") and data.get("place")):
            problems["venue_id"] = ["give a venue, or a town and a place"]
        if data.get("venue_id") and (data.get("town") or data.get("place")):
            problems["venue_id"] = ["a venue says its own town and place: give one or the other"]
        headcount, children = data.get("headcount"), data.get("child_headcount")
        if isinstance(headcount, int) and isinstance(children, int) and children > headcount:
            problems["child_headcount"] = ["must not exceed the headcount"]
        if problems:
            raise ValidationError(problems)


class PastSeasonInput(Input):
    """An admin's back-entry of a past season: every activity must have ended before today."""

    activities = fields.List(fields.Nested(HeldActivityInput), required=True, validate=validate.Length(min=1, max=500))

    @validates_schema(skip_on_field_errors=False)
    def all_in_the_past(self, data, **kwargs):
        today = self.context.get("today")
        late = {
            str(i): {"held_on": ["a back-entry must be before today"]}
            for i, item in enumerate(data.get("activities") or [])
            if today and isinstance(item, dict) and isinstance(item.get("held_on"), date) and item["held_on"] >= today
        }
        if late:
            raise ValidationError({"activities": late})


class CareVisitInput(_NotAhead):
    DATED = "visit_date"

    visit_date = fields.Date(required=True, validate=_in_range)
    town = Text(required=True, max_length=20, validate=_town)
    place = Text(required=True, min_length=1, max_length=200)
    led_by = fields.String(required=True, validate=validate.OneOf(VISIT_LEADS))
    leading_official = Text(required=True, min_length=1, max_length=100)
    children = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10_000))
    gifts = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10_000))


class TraineeInput(Input):
    id_number = Text(required=True, max_length=32, validate=_id_number)


class TrainingInput(_NotAhead):
    DATED = "held_on"

    topic = fields.String(required=True, validate=validate.OneOf(TRAINING_TOPICS))
    town = Text(required=True, max_length=20, validate=_town)
    place = Text(required=True, min_length=1, max_length=200)
    held_on = fields.Date(required=True, validate=_in_range)
    trainees = fields.List(fields.Nested(TraineeInput), required=True, validate=validate.Length(min=1, max=2000))

    @validates_schema(skip_on_field_errors=False)
    def distinct_trainees(self, data, **kwargs):
        problems: dict = {}
        numbers = [_normalised(t.get("id_number")) for t in data.get("trainees") or [] if isinstance(t, dict)]
        numbers = [n for n in numbers if n]
        if len(numbers) != len(set(numbers)):
            problems["trainees"] = ["a trainee is listed twice"]
        if problems:
            raise ValidationError(problems)


class PublicationInput(_NotAhead):
    DATED = "issued_on"

    title = Text(required=True, min_length=1, max_length=200)
    kind = fields.String(required=True, validate=validate.OneOf(PUBLICATION_KINDS))
    issued_on = fields.Date(required=True, validate=_in_range)
    copies_printed = fields.Integer(required=True, strict=True, validate=COUNT)
    channels = fields.List(
        fields.String(validate=validate.OneOf(PUBLICATION_CHANNELS)),
        required=True,
        validate=validate.Length(min=1, max=len(PUBLICATION_CHANNELS)),
    )

    @validates_schema(skip_on_field_errors=False)
    def consistent(self, data, **kwargs):
        problems: dict = {}
        channels = data.get("channels") or []
        if len(channels) != len(set(channels)):
            problems["channels"] = ["a channel is listed twice"]
        if "print" in channels and data.get("copies_printed") == 0:
            problems["copies_printed"] = ["a printed publication has copies"]
        if data.get("kind") == "article" and "wechat" not in channels:
            problems.setdefault("channels", []).append("an article is a post on the WeChat account")
        if problems:
            raise ValidationError(problems)


class DistributionInput(_NotAhead):
    DATED = "distributed_on"

    publication_id = Id(required=True)
    town = Text(required=True, max_length=20, validate=_town)
    distributed_on = fields.Date(required=True, validate=_in_range)
    copies = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1_000_000))


class FollowerCountInput(_NotAhead):
    """An account's followers as of a day, read off the platform's own back office (a snapshot)."""

    DATED = "as_of"

    channel = fields.String(required=True, validate=validate.OneOf(ACCOUNT_CHANNELS))
    as_of = fields.Date(required=True, validate=_in_range)
    followers = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=100_000_000))


# --- output ---------------------------------------------------------------------------------------


class VenueOut(Schema):
    id = fields.String()
    name = fields.String()
    kind = fields.String()
    town = fields.String()
    address = fields.String(allow_none=True)
    shares_venue_id = fields.String(allow_none=True)
    opened_on = fields.Date(allow_none=True)


class ActivityOut(Schema):
    id = fields.String()
    title = fields.String()
    kind = fields.String()
    description = fields.String(allow_none=True)
    venue_id = fields.String()
    town = fields.String()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    capacity = fields.Integer()
    seats_taken = fields.Integer()
    seats_free = fields.Method("free")
    min_age = fields.Integer(allow_none=True)
    max_age = fields.Integer(allow_none=True)
    organiser = fields.String(allow_none=True)
    organiser_team_id = fields.String(allow_none=True)
    moderated = fields.Boolean()
    status = fields.String()
    cancel_reason = fields.String(allow_none=True)

    def free(self, activity) -> int:
        return activity.capacity - activity.seats_taken


class ParticipantOut(Schema):
    participant_id = fields.String(attribute="id")
    resident_id = fields.String()
    is_child = fields.Boolean()
    age = fields.Integer()
    no_show = fields.Boolean(allow_none=True)


class RegistrationOut(Schema):
    id = fields.String()
    activity_id = fields.String()
    resident_id = fields.String()
    seats = fields.Integer()
    children = fields.Integer()
    status = fields.String()
    priority = fields.Integer()
    queued_at = fields.AwareDateTime()
    hold_expires_at = fields.AwareDateTime(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()


class TeamOut(Schema):
    id = fields.String()
    name = fields.String()
    town = fields.String()

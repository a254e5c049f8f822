"""Events published by events (community activities). People travel only as `resident_id` (a keyed
pseudonym); ID numbers and phones never leave the service. Registration events carry what a notice needs
(title, venue, start time) so notify never has to call back.

Consumers: stats counts everything; notify messages the registrant on each registration event and every
resident still holding a place on activity_rescheduled, and stores the phone from contact_provided."""

from shared.platform.contracts import DataSchema, fields, reason_code, register, validate

KINDS = (
    "lecture",
    "exhibition",
    "story_hour",
    "workshop",
    "summer_class",
    "drowning_prevention",
    "volunteer_service",
    "harmony_day",
    "other",
)
CANCEL_REASONS = ("by_resident", "by_staff", "activity_cancelled")
VENUE_KINDS = ("city_library", "children_library", "town_branch", "reading_room", "school", "community_centre", "other")
# what the Center counts an activity held under (seed §4): the summer programme for migrant workers'
# children (暑期假日学校、夏令营、研学、观影 …), the 4.20 harmony day, the libraries' own programme
PROGRAMMES = ("summer_birds", "harmony_day", "library", "other")
# how a held activity reached the platform: an admin's back-entry of a past season, or an open event
# (no registration) whose organisers counted heads
HELD_ENTRIES = ("back_entry", "open_headcount")
# who led a care visit (慰问走访): the seed's visits were led by the Center's leadership (中心领导带队)
VISIT_LEADS = ("center_leadership", "town_leadership", "department")
TRAINING_TOPICS = ("drowning_prevention", "fire_safety", "traffic_safety", "other")
# an `article` is one post (文稿) on the Center's WeChat account "我在慈溪" (seed §4: 全年推送各类文稿125篇)
PUBLICATION_KINDS = ("newcomer_guide", "policy_leaflet", "article", "other")
PUBLICATION_CHANNELS = ("print", "wechat")
# the Center's own accounts whose followers it counts: "wechat" is the "我在慈溪" official account
ACCOUNT_CHANNELS = ("wechat",)
# a yearly series an open event belongs to, with its edition (seed §4: 第八个市民幸福体验日)
SERIES = ("happiness_day",)
STATS = ("stats",)
NOTIFY_AND_STATS = ("notify", "stats")

_resident_id = validate.Length(min=8, max=64)


class _Activity(DataSchema):
    activity_id = fields.String(required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    town = fields.String(required=True)
    venue_name = fields.String(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)


class _Registration(_Activity):
    registration_id = fields.String(required=True)
    resident_id = fields.String(required=True, validate=_resident_id)  # the registrant (a parent for a family)
    seats = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    children = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))


@register("events", "activity_scheduled", consumers=STATS)
class ActivityScheduled(_Activity):
    capacity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    moderated = fields.Boolean(required=True)
    organiser_team_id = fields.String(required=True, allow_none=True)


@register("events", "activity_rescheduled", consumers=NOTIFY_AND_STATS)
class ActivityRescheduled(_Activity):
    """The time or venue changed; every registrant still holding a place should be told."""

    previous_starts_at = fields.AwareDateTime(required=True)
    resident_ids = fields.List(fields.String(validate=_resident_id), required=True)


@register("events", "activity_cancelled", consumers=STATS)
class ActivityCancelled(_Activity):
    """One per activity; each affected registration also gets `registration_cancelled` (reason activity_cancelled)."""

    reason = fields.String(required=True, validate=validate.Length(max=500))
    registrations_cancelled = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    cancelled_at = fields.AwareDateTime(required=True)


@register("events", "activity_completed", consumers=STATS)
class ActivityCompleted(_Activity):
    """Closing figures once the activity has ended; participations were already counted per attendance."""

    registered = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    attended = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    no_shows = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    participations = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))


@register("events", "registration_pending", consumers=NOTIFY_AND_STATS)
class RegistrationPending(_Registration):
    """A moderated activity: seats are held while a caseworker decides."""


@register("events", "registration_confirmed", consumers=NOTIFY_AND_STATS)
class RegistrationConfirmed(_Registration):
    confirmed_at = fields.AwareDateTime(required=True)


@register("events", "registration_rejected", consumers=NOTIFY_AND_STATS)
class RegistrationRejected(_Registration):
    """`reason` is the moderator's own words to the registrant (required to refuse), not a code."""

    reason = fields.String(required=True, validate=validate.Length(max=500))


@register("events", "waitlisted", consumers=NOTIFY_AND_STATS)
class Waitlisted(_Registration):
    position = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


@register("events", "seat_offered", consumers=NOTIFY_AND_STATS)
class SeatOffered(_Registration):
    hold_expires_at = fields.AwareDateTime(required=True)


@register("events", "offer_expired", consumers=NOTIFY_AND_STATS)
class OfferExpired(_Registration):
    expired_at = fields.AwareDateTime(required=True)


@register("events", "registration_cancelled", consumers=NOTIFY_AND_STATS)
class RegistrationCancelled(_Registration):
    reason = reason_code(CANCEL_REASONS, required=True)
    previous_status = fields.String(required=True)
    cancelled_at = fields.AwareDateTime(required=True)


@register("events", "reminder_due", consumers=NOTIFY_AND_STATS)
class ReminderDue(_Registration):
    """Sent once per confirmed registration, a policy-set number of hours before the start."""


@register("events", "attendance_recorded", consumers=STATS)
class AttendanceRecorded(_Activity):
    """A check-in (participations = 1, one 人次 per person per activity day) or a check-out (0)."""

    registration_id = fields.String(required=True)
    resident_id = fields.String(required=True, validate=_resident_id)  # the participant (a child, for a class)
    guardian_resident_id = fields.String(required=True, validate=_resident_id)  # the registrant
    is_child = fields.Boolean(required=True)
    age = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=150))
    day = fields.Date(required=True)
    action = fields.String(required=True, validate=validate.OneOf(("check_in", "check_out")))
    participations = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=1))
    at = fields.AwareDateTime(required=True)


@register("events", "service_hours_recorded", consumers=STATS)
class ServiceHoursRecorded(DataSchema):
    record_id = fields.String(required=True)
    team_id = fields.String(required=True)
    team_name = fields.String(required=True)
    town = fields.String(required=True)
    activity_id = fields.String(required=True, allow_none=True)
    service_date = fields.Date(required=True)
    volunteers = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    minutes = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    people_served = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))


@register("events", "venue_registered", consumers=STATS)
class VenueRegistered(DataSchema):
    """A venue entered in the register (seed §3: 1 city library, 1 children's library, 17 branches, 15 reading
    rooms of which 4 share a branch's premises: `shares_venue_id` names that branch)."""

    venue_id = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = reason_code(VENUE_KINDS, required=True)
    town = fields.String(required=True)
    shares_venue_id = fields.String(required=True, allow_none=True)
    opened_on = fields.Date(required=True)  # the day it opened (the register may be entered long after)


@register("events", "activity_held", consumers=STATS)
class ActivityHeld(DataSchema):
    """An activity that took place and was counted by heads, not by registration: a past season entered by
    an admin (`back_entry`) or an open event such as the 4.20 harmony day (`open_headcount`). `headcount` is
    人次 (person-times); `child_headcount` the part of it that were children."""

    activity_id = fields.String(required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    programme = reason_code(PROGRAMMES, required=True)
    entry = reason_code(HELD_ENTRIES, required=True)
    town = fields.String(required=True)
    place = fields.String(required=True, validate=validate.Length(min=1, max=200))
    held_on = fields.Date(required=True)
    headcount = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    child_headcount = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    # the yearly series and its edition (第N个), both or neither; absent in events published before them
    series = reason_code(SERIES, load_default=None, allow_none=True)
    edition = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1))


@register("events", "care_visit_recorded", consumers=STATS)
class CareVisitRecorded(DataSchema):
    """A care visit to migrant workers' children (慰问走访). The leading official's name stays in events."""

    visit_id = fields.String(required=True)
    visit_date = fields.Date(required=True)
    town = fields.String(required=True)
    led_by = reason_code(VISIT_LEADS, required=True)
    children = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    gifts = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))


@register("events", "training_held", consumers=STATS)
class TrainingHeld(DataSchema):
    """A training session (防溺水专项宣讲 …); `trainee_ids` are the trainees' pseudonyms, so stats counts
    distinct children across sessions."""

    training_id = fields.String(required=True)
    topic = reason_code(TRAINING_TOPICS, required=True)
    town = fields.String(required=True)
    place = fields.String(required=True, validate=validate.Length(min=1, max=200))
    held_on = fields.Date(required=True)
    trainees = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    trainee_ids = fields.List(fields.String(validate=_resident_id), required=True, validate=validate.Length(min=1))


@register("events", "publication_issued", consumers=STATS)
class PublicationIssued(DataSchema):
    """A printed or posted publication for new citizens (the 来慈指南): copies printed, where it was posted."""

    publication_id = fields.String(required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = reason_code(PUBLICATION_KINDS, required=True)
    issued_on = fields.Date(required=True)
    copies_printed = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    channels = fields.List(reason_code(PUBLICATION_CHANNELS), required=True, validate=validate.Length(min=1))


@register("events", "publication_distributed", consumers=STATS)
class PublicationDistributed(DataSchema):
    """Copies of a publication handed out free in one town on one day."""

    distribution_id = fields.String(required=True)
    publication_id = fields.String(required=True)
    kind = reason_code(PUBLICATION_KINDS, required=True)
    town = fields.String(required=True)
    distributed_on = fields.Date(required=True)
    copies = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


@register("events", "followers_counted", consumers=STATS)
class FollowersCounted(DataSchema):
    """The followers of one of the Center's accounts as of a day (累计关注人数): a snapshot, not an increment.
    The latest `as_of` wins; a second count for the same day is a correction, the later `recorded_at` wins."""

    count_id = fields.String(required=True)
    channel = reason_code(ACCOUNT_CHANNELS, required=True)
    as_of = fields.Date(required=True)
    followers = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    recorded_at = fields.AwareDateTime(required=True)


@register("events", "contact_provided", consumers=("notify",))
class ContactProvided(DataSchema):
    """A registrant's phone as given at registration, encrypted with the platform key, for notify (which owns
    contacts)."""

    resident_id = fields.String(required=True, validate=_resident_id)
    phone_encrypted = fields.String(required=True, validate=validate.Length(min=16, max=512))
    town = fields.String(required=True)

"""events's domain errors; each reaches an RPC caller as a RemoteError named after its class."""

import json

from shared.platform.errors import Conflict, DomainError, InvalidTransition, NotFound  # noqa: F401  (bases; shared names)


class ActivityNotFound(NotFound):
    """No activity with that id."""


class VenueNotFound(NotFound):
    """No venue with that id."""


class TeamNotFound(NotFound):
    """No volunteer team with that id."""


class PublicationNotFound(NotFound):
    """No publication with that id."""


class RegistrationNotFound(NotFound):
    """No registration with that id (or not one the caller may see)."""


class ParticipantNotFound(NotFound):
    """The person is not registered with a confirmed place on this activity."""


class ActivityNotOpen(Conflict):
    """The activity is cancelled, completed or has already started."""


class AlreadyRegistered(Conflict):
    """One of the people already holds or queues for a place on this activity."""


class NotEligible(Conflict):
    """A participant does not meet the activity's audience rules (age, party); the message maps each input
    field (`id_number`, `children.0`, ...) to its reasons, as JSON."""

    def __init__(self, problems: dict | str):
        self.problems = json.loads(problems) if isinstance(problems, str) else dict(problems)
        super().__init__(json.dumps(self.problems, ensure_ascii=False, sort_keys=True))


class CapacityConflict(Conflict):
    """The capacity cannot be lowered below the seats already taken."""


class AttendanceConflict(Conflict):
    """Already checked in today, not checked in, already checked out, or outside the activity's days."""


class DuplicateName(Conflict):
    """A venue or team with that name exists."""

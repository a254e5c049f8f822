"""insurance's domain errors; each reaches an RPC caller as a RemoteError named after its class."""

from shared.errors import Conflict, DomainError, NotFound


class NotEligible(DomainError):
    """The person does not meet the route's rules; the message names every failed rule and its reason."""


class DuplicateEnrolment(Conflict):
    """The person already holds a pending, active or suspended enrolment in this scheme."""


class DuplicateRegistration(Conflict):
    """The same person is already registered with the same kind and start date."""


class IllegalTransition(Conflict):
    """The enrolment's current status does not allow the requested step (e.g. activating an ended one)."""


class SelfApproval(Conflict):
    """Maker-checker: whoever submitted an enrolment cannot decide on it."""


class EnrolmentNotFound(NotFound):
    """No enrolment with that id (or none the caller may see)."""


class PolicyMissing(DomainError):
    """A figure the rules need has no row in force for the year asked (the policy table needs a row)."""

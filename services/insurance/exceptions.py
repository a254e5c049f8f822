"""insurance's domain errors; each reaches an RPC caller as a RemoteError named after its class."""

# the shared names (one vocabulary: the same idea has the same error in every service)
from shared.platform.errors import (  # noqa: F401
    BeforeSchemeStart,
    Conflict,
    DomainError,
    InvalidTransition,
    MakerCheckerViolation,
    NotFound,
    PolicyMissing,
)


class NotEligible(DomainError):
    """The person does not meet the route's rules; the message names every failed rule and its reason."""


class DuplicateEnrolment(Conflict):
    """The person already holds a pending, active or suspended enrolment in this scheme."""


class DuplicateRegistration(Conflict):
    """The same person is already registered with the same kind and start date."""


class EnrolmentNotFound(NotFound):
    """No enrolment with that id (or none the caller may see)."""


class DuplicateContribution(Conflict):
    """That month's pension contribution is already recorded for the enrolment."""

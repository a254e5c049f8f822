"""housing's domain errors; each reaches an RPC caller as a RemoteError named after its class."""

# the shared names (one vocabulary: the same idea has the same error in every service)
from shared.platform.errors import (  # noqa: F401
    BeforeSchemeStart,
    Conflict,
    DomainError,
    Forbidden,
    InvalidTransition,
    MakerCheckerViolation,
    NotFound,
    PolicyMissing,
)


class DuplicateApplication(Conflict):
    """The resident already holds an open case (subsidy application, subsidy or 保租房 tenancy); names it."""


class ApplicationNotFound(NotFound):
    """No such application (or the caller may not see it)."""


class NoVacantUnit(Conflict):
    """No vacant unit is left to allocate (another allocation took the last one)."""


class UnitNotFound(NotFound):
    """No such unit."""


class ProjectNotFound(NotFound):
    """No such project."""


class RentCapExceeded(Conflict):
    """A unit's rent is above the cap relative to its assessed market rent."""


class UnitAreaExceeded(Conflict):
    """A unit's construction area is above the 保租房 limit of the policy row in force."""


class RentIncreaseExceeded(Conflict):
    """A tenancy's new rent rises by more than the annual cap, or sooner than 12 months after the last rise."""


class AssessmentExists(Conflict):
    """The project already has an operator-subsidy assessment for that year."""


class AssessmentNotFound(NotFound):
    """No such operator-subsidy assessment."""


class TenancyNotFound(NotFound):
    """No such tenancy."""


class NoAmountRule(Conflict):
    """The policy row in force has no amount for the case (e.g. an appeal granted outside the covered groups)."""


class PlanExists(Conflict):
    """A plan of that kind for that year was already recorded (a plan is published once)."""

"""notify's domain errors; each reaches an RPC caller as a RemoteError named after its class."""

from shared.platform.errors import Conflict, DomainError, NotFound  # noqa: F401  (the bases services extend)


class TemplateExists(Conflict):
    """A template with this id exists; change it with update_template (a new version)."""


class TemplateNotFound(NotFound):
    """No such template (or no active version of it)."""


class NotificationNotFound(NotFound):
    """No notification with this id."""


class BroadcastNotFound(NotFound):
    """No broadcast with this id."""


class ContactNotFound(NotFound):
    """notify has no contact for this resident."""

"""events's domain errors; each reaches an RPC caller as a RemoteError named after its class."""

from shared.errors import Conflict, DomainError, NotFound  # noqa: F401  (the bases services extend)

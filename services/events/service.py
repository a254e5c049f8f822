"""The events service's entrypoints. Logic longer than a few lines lives in plain modules beside it."""

from shared.db import Database
from shared.outbox import Outbox
from shared.service import PlatformService


class EventsService(PlatformService):
    name = "events"

    db = Database()
    outbox = Outbox()

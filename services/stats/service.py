"""The stats service's entrypoints. Logic longer than a few lines lives in plain modules beside it."""

from shared.db import Database
from shared.service import PlatformService


class StatsService(PlatformService):
    name = "stats"

    db = Database()

from services.events.models import Base
from shared.migrations import run_migrations
from shared.models import SharedBase

run_migrations([Base.metadata, SharedBase.metadata])

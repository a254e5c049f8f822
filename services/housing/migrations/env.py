from services.housing.models import Base
from shared.platform.migrations import run_migrations
from shared.platform.models import SharedBase

run_migrations([Base.metadata, SharedBase.metadata])

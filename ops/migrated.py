"""Wait until services' databases are at their Alembic head (a Kubernetes init container's job).

    python -m ops.migrated housing [--wait SECONDS]

Exits 0 once every named service's database is at head, 1 if the wait runs out: the migrations Job
migrates, replicas only wait for it, so two replicas never race to upgrade the same database.
"""

from __future__ import annotations

import argparse
import sys
import time

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from shared.platform.config import SERVICES, load_service_config
from shared.platform.db import make_engine
from shared.platform.migrations import alembic_config


def at_head(service: str, url: str | None = None) -> bool:
    url = url or load_service_config(service)["DATABASE_URL"]
    heads = set(ScriptDirectory.from_config(alembic_config(service, url)).get_heads())
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except Exception:  # unreachable or not created yet: not at head, keep waiting
        return False
    finally:
        engine.dispose()
    return current == heads


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.migrated")
    parser.add_argument("services", nargs="+", choices=SERVICES)
    parser.add_argument("--wait", type=float, default=0, help="seconds to keep checking (default: check once)")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.wait
    waiting = list(args.services)
    while True:
        waiting = [service for service in waiting if not at_head(service)]
        if not waiting or time.monotonic() >= deadline:
            break
        time.sleep(2)
    for service in waiting:
        print(f"{service}: database is not at the migrations' head", file=sys.stderr)
    return 1 if waiting else 0


if __name__ == "__main__":
    sys.exit(main())

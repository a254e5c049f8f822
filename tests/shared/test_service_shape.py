"""Every service's `service.py` is a routing table: input checked, one verb of its application object
called, the view returned. Queries, commits and events belong to the domain modules beside it."""

from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[2] / "services"
ROUTING_FILES = sorted(SERVICES.glob("*/service.py"))
FORBIDDEN = ("select(", "session.commit(", ".commit()", "outbox.add")
MAX_LINES = 250


def test_every_service_is_checked():
    assert {path.parent.name for path in ROUTING_FILES} >= {"events", "housing", "insurance", "notify", "stats"}


@pytest.mark.parametrize("path", ROUTING_FILES, ids=lambda path: path.parent.name)
def test_service_py_holds_no_query_commit_or_event(path):
    found = [
        f"{path.parent.name}/service.py:{number}: {pattern}"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        for pattern in FORBIDDEN
        if pattern in line
    ]
    assert not found, "move these into the service's domain modules:\n" + "\n".join(found)


@pytest.mark.parametrize("path", ROUTING_FILES, ids=lambda path: path.parent.name)
def test_service_py_is_short(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.parent.name}/service.py has {lines} lines; routing fits in {MAX_LINES}"

"""Every service's `service.py` is a routing table: input checked, one verb of its application object
called, the view returned. Queries, commits and events belong to the domain modules beside it, and only the
modules listed here commit, each for the reason given."""

import ast
import importlib
from pathlib import Path

import pytest

from shared.platform.unit_of_work import Application

SERVICES = Path(__file__).resolve().parents[2] / "services"
ROUTING_FILES = sorted(SERVICES.glob("*/service.py"))
FORBIDDEN = ("select(", "session.commit(", ".commit()", "outbox.add")
MAX_LINES = 250
# the services whose entrypoints call `self.desk` (shared/platform/unit_of_work.py): all five
WITH_A_DESK = ("events", "housing", "insurance", "notify", "stats")
ENTRYPOINTS = ("rpc", "timer", "http", "event_handler")
WORKER_DEPENDENCIES = ("self.db", "self.outbox", "self.pii")
# a verb that writes is `@transactional`; these modules commit themselves, on purpose
COMMITS_ON_PURPOSE = {
    "housing/disbursement.py": "`run()`, the benchmark's, pays a batch per transaction (a job's chunk: the runner)",
    "notify/broadcasts.py": "a broadcast records a page of recipients per transaction, under a lease",
    "notify/callback_guard.py": "a callback's nonce is spent before the callback is applied, so a replay is refused",
    "notify/delivery.py": "the dispatcher commits before each provider call: nothing stays open during HTTP",
    "notify/dependencies.py": "the courier's background loops run outside any worker",
    "stats/store.py": "a repair replaces the live figures it compared, in one transaction of its own",
}


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


def _service_class(name: str) -> ast.ClassDef:
    tree = ast.parse((SERVICES / name / "service.py").read_text(encoding="utf-8"))
    [service] = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name.endswith("Service")]
    return service


@pytest.mark.parametrize("name", WITH_A_DESK)
def test_the_service_has_an_application_object(name):
    service = getattr(importlib.import_module(f"services.{name}.service"), _service_class(name).name)
    assert isinstance(service.__dict__.get("desk"), Application), f"{name}: declare desk = Application(Desk)"


@pytest.mark.parametrize("name", WITH_A_DESK)
def test_no_entrypoint_hands_the_workers_dependencies_to_a_module(name):
    """The desk reads the worker's `db`, `outbox` and `pii` itself: an entrypoint passing them on is a
    module function called around the unit of work."""
    found = []
    for method in _service_class(name).body:
        decorators = [ast.unparse(decorator) for decorator in getattr(method, "decorator_list", ())]
        if not any(decorator.startswith(ENTRYPOINTS) for decorator in decorators):
            continue
        for call in (node for node in ast.walk(method) if isinstance(node, ast.Call)):
            passed = [ast.unparse(arg) for arg in (*call.args, *(keyword.value for keyword in call.keywords))]
            found += [f"{name}.{method.name}: {arg}" for arg in passed if arg in WORKER_DEPENDENCIES]
    assert not found, "call a verb of self.desk instead:\n" + "\n".join(found)


def test_only_the_listed_modules_commit():
    committing = {
        str(path.relative_to(SERVICES))
        for path in SERVICES.glob("*/*.py")
        if path.name != "service.py" and ".commit()" in path.read_text(encoding="utf-8")
    }
    assert committing == set(COMMITS_ON_PURPOSE), (
        "a verb that writes is @transactional; a module that must commit itself is listed with its reason"
    )

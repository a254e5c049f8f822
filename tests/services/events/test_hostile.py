"""Every RPC, called with hostile values in every argument, answers with a result or a typed domain error:
never a crash (an untyped error would carry internals to the caller)."""

import inspect

import pytest
from nameko.exceptions import RemoteError
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import Rpc

from services.events import exceptions
from services.events.service import EventsService
from shared.platform.errors import DomainError

HOSTILE = [None, 0, -1, 10**30, True, 1.5, "", "x" * 5000, "\x00", "'; DROP TABLE activities; --", [], {}, {"a": [1]}]


def rpc_methods() -> list[tuple[str, list[str]]]:
    found = []
    for name in sorted(dir(EventsService)):
        method = getattr(EventsService, name)
        if any(isinstance(e, Rpc) for e in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ())):
            params = [p for p in inspect.signature(method).parameters if p != "self"]
            found.append((name, params))
    return found


def domain_error_names() -> set[str]:
    names, pending = set(), [DomainError]
    assert exceptions  # the service's own subclasses are imported
    while pending:
        cls = pending.pop()
        names.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return names


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
@pytest.mark.parametrize(("method", "params"), rpc_methods())
def test_hostile_arguments_get_typed_answers(rpc, events, method, params):
    staff = rpc("admin-1", "admin", "caseworker", "service")
    allowed = domain_error_names()
    for value in HOSTILE:
        for position in range(max(len(params), 1)):
            args = [
                value if index == position else "00000000-0000-4000-8000-000000000000" for index in range(len(params))
            ]
            try:
                getattr(staff, method)(*args)
            except DomainError:
                pass
            except RemoteError as exc:
                assert exc.exc_type in allowed, f"{method}({args!r:.200}) -> {exc.exc_type}: {exc.value[:300]}"

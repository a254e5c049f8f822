"""Every public RPC of every service, fuzzed with hostile input over real RabbitMQ against running processes.

Each call must end in a correct result or a typed domain error: never an InternalError (an unexpected
crash inside the service), an untyped error, a stack trace in the reply, a hung call, or a dead worker.
"""

import importlib.util
import inspect
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nameko.exceptions import BadRequest, RemoteError, RpcTimeout

from shared.platform.config import SERVICES
from shared.platform.errors import DomainError, InternalError
from tests.fuzz.discovery import public_rpcs
from tests.fuzz.hostile import values

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))


def domain_error_names() -> set[str]:
    for service in SERVICES:
        if importlib.util.find_spec(f"services.{service}.exceptions"):  # a service with errors of its own
            importlib.import_module(f"services.{service}.exceptions")
    names, pending = set(), [DomainError]
    while pending:
        cls = pending.pop()
        names.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return names - {"InternalError"}


RPCS = public_rpcs()


def arguments_for(signature: inspect.Signature):
    parameters = [p for p in list(signature.parameters.values())[1:] if p.kind is p.POSITIONAL_OR_KEYWORD]
    required = [p for p in parameters if p.default is p.empty]
    # sometimes the right number of arguments (reaching validation), sometimes too many or too few
    count = st.one_of(st.just(len(required)), st.integers(min_value=0, max_value=len(parameters) + 2))
    return count.flatmap(lambda n: st.lists(values, min_size=n, max_size=n))


@pytest.mark.parametrize("target", RPCS, ids=[target.id for target in RPCS])
def test_hostile_input_gets_a_typed_answer(rpc, target):
    service, method, signature = target.service, target.method, target.signature
    typed = domain_error_names()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(args=arguments_for(signature))
    def check(args):
        try:
            getattr(getattr(rpc, service), method)(*args)
        except RpcTimeout:
            pytest.fail(f"{service}.{method} hung")
        except InternalError as error:
            pytest.fail(f"{service}.{method} crashed inside: {error}")
        except (DomainError, BadRequest) as error:
            assert "Traceback" not in str(error)
        except RemoteError as error:
            assert error.exc_type in typed, f"{service}.{method} answered an untyped {error.exc_type}: {error.value}"
            assert "Traceback" not in str(error.value)

    check()
    assert getattr(rpc, service).health()["status"] == "ok", f"{service} no longer healthy after fuzzing"

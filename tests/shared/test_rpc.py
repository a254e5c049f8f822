"""Unexpected failures reach RPC callers as a typed InternalError without internals; the worker lives on."""

import logging

import pytest
from nameko.exceptions import IncorrectSignature
from nameko.standalone.rpc import ServiceRpcProxy

from shared.platform.errors import InternalError
from tests.shared.sample_services import SamplerService


@pytest.fixture
def sampler(container_factory, service_config, sqlite_url):
    config = service_config(sqlite_url)
    container_factory(SamplerService, config).start()
    with ServiceRpcProxy("sampler", config, timeout=10) as proxy:
        yield proxy


def test_a_bug_becomes_internal_error_with_only_a_reference(sampler, caplog):
    with caplog.at_level(logging.ERROR), pytest.raises(InternalError) as caught:
        sampler.divide(1, 0)
    message = str(caught.value)
    assert message.startswith("internal error; quote call sampler.divide.")
    assert "ZeroDivisionError" not in message and "Traceback" not in message
    assert any("ZeroDivisionError" in record.getMessage() for record in caplog.records)
    assert sampler.divide(6, 3) == 2


def test_wrong_signature_stays_a_typed_request_error(sampler):
    with pytest.raises(IncorrectSignature, match="missing a required argument: 'b'"):
        sampler.divide(1)


@pytest.fixture
def reviewer_sampler(container_factory, service_config, sqlite_url, token_for):
    config = service_config(sqlite_url)
    container_factory(SamplerService, config).start()
    with ServiceRpcProxy("sampler", config, context_data={"authorization": token_for("r", "reviewer")}) as proxy:
        yield proxy


def test_signature_is_checked_through_decorators(reviewer_sampler):
    with pytest.raises(IncorrectSignature, match="too many positional arguments"):
        reviewer_sampler.approve("case", "extra")
    assert reviewer_sampler.approve("case") == {"case": "case", "by": "r"}

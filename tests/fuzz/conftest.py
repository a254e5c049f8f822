"""The fuzz suites' platform: all five services as processes, purges off (they would only add noise)."""

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from tests.support.platform import running_platform

ALL_ROLES = ("admin", "caseworker", "reviewer", "resident", "service")


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    with running_platform(tmp_path_factory.mktemp("fuzz"), extra_env={"RETENTION_PURGE_ENABLED": "false"}) as running:
        yield running


@pytest.fixture(scope="module")
def rpc(platform):
    """A proxy calling with a token that holds every role."""
    token = platform.token("fuzzer", *ALL_ROLES)
    proxy = ClusterRpcProxy(platform.rpc_config(), context_data={"authorization": token}, timeout=20)
    yield proxy.start()
    proxy.stop()

"""Every write needs a role: each RPC of every service not declared `@rpc(read_only=True)` is called with a
valid token that holds no roles, on the caller's own record (every argument is the token's subject), and
must answer `Forbidden`; without a token, `NotAuthenticated`. The RPCs are found from the service classes,
so a new write without `@requires` fails here."""

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from shared.platform.errors import Forbidden, NotAuthenticated
from tests.fuzz.discovery import public_rpcs

pytestmark = pytest.mark.e2e

SUBJECT = "r_0123456789abcdef"  # shaped like a resident_id, so "their own record" is what is asked for
WRITES = [target for target in public_rpcs() if not target.read_only]


@pytest.fixture(scope="module", params=["no-roles", "no-token"])
def caller(request, platform):
    context = {"authorization": platform.token(SUBJECT)} if request.param == "no-roles" else {}
    expected = Forbidden if request.param == "no-roles" else NotAuthenticated
    proxy = ClusterRpcProxy(platform.rpc_config(), context_data=context, timeout=20)
    yield proxy.start(), expected
    proxy.stop()


@pytest.mark.parametrize("target", WRITES, ids=[target.id for target in WRITES])
def test_a_write_without_a_role_is_refused(caller, target):
    rpc, expected = caller
    parameters = list(target.signature.parameters.values())[1:]
    arguments = [SUBJECT for p in parameters if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD]
    with pytest.raises(expected):
        getattr(getattr(rpc, target.service), target.method)(*arguments)


def test_the_writes_include_what_residents_do_to_their_own_records():
    ids = {target.id for target in WRITES}
    assert {"notify.set_preferences", "housing.submit_subsidy_application", "events.register"} <= ids
    assert "housing.get_subsidy_application" not in ids and "events.check_in" in ids

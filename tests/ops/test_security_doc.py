"""docs/security.md carries the role table the code declares, and every RPC open to residents says what
"own" means there."""

from pathlib import Path

from ops.roles import BEGIN, END, OWN, rpc_roles, table

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def test_the_documented_role_table_is_the_codes():
    text = DOC.read_text(encoding="utf-8")
    documented = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert documented == table(), "docs/security.md is stale: paste the output of `python -m ops.roles`"


def test_every_rpc_open_to_residents_says_what_they_may_act_on():
    open_to_residents = {(service, name) for service, name, roles in rpc_roles() if roles and "resident" in roles}
    assert open_to_residents == set(OWN)


def test_the_kiosk_role_only_checks_people_in_and_out():
    kiosk = {(service, name) for service, name, roles in rpc_roles() if roles and "service" in roles}
    assert kiosk == {("events", "check_in"), ("events", "check_out")}

"""stats' wiring against `shared.platform.contracts`: one handler per contract naming stats as a consumer, none
other, and fold rules that read only fields their contract declares."""

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from services.stats.fold import GENERIC, RULES
from services.stats.service import StatsService
from shared.platform.contracts import load_all
from shared.platform.event_consumer import ReliableEventHandler, handler_name

registry = load_all()


def subscriptions() -> dict[tuple[str, str], str]:
    found = {}
    for name in dir(StatsService):
        for entrypoint in getattr(getattr(StatsService, name), ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, ReliableEventHandler):
                found[(entrypoint.source_service, entrypoint.event_type)] = name
    return found


def consumed() -> set[tuple[str, str]]:
    return {(c.source, c.event_type) for c in registry.consumed_by("stats")}


def test_every_contract_naming_stats_has_a_handler():
    missing = consumed() - set(subscriptions())
    assert not missing, f"contracts list stats as a consumer but stats has no handler: {sorted(missing)}"


def test_every_stats_handler_subscribes_to_a_contract_naming_stats():
    stray = set(subscriptions()) - consumed()
    assert not stray, f"stats handles events no contract lists it for: {sorted(stray)}"


def test_handlers_are_named_after_their_event():
    assert all(name == handler_name(*kind) for kind, name in subscriptions().items())
    assert ("housing", "subsidy_approved") in subscriptions()
    assert ("housing", "contact_provided") not in subscriptions()  # for notify only


@pytest.mark.parametrize("kind", sorted(RULES), ids=lambda kind: ".".join(kind))
def test_a_rule_reads_only_fields_its_contract_declares(kind):
    contract = registry.latest(*kind)
    assert contract is not None, f"a fold rule for {'.'.join(kind)}, an event no contract declares (a typo?)"
    assert "stats" in contract.consumers, f"a fold rule for {kind} is dead: its contract does not list stats"
    rule = RULES[kind]
    declared = contract.schema._declared_fields
    if rule.when:
        assert set(rule.when) & set(declared), f"none of {rule.when} is a field of {kind}: year would be occurred_at"
    if rule.category != GENERIC.category:
        assert set(rule.category) & set(declared), f"none of {rule.category} is a field of {kind}"
    for metric, amount in rule.sums.items():
        assert amount.field in declared, f"{metric} reads {amount.field}, not a field of {kind}"
        if amount.default is None:
            assert declared[amount.field].required, f"{kind}.{amount.field} must be required for {metric}"
    for metric, name in rule.distinct.items():
        assert name in declared and declared[name].required, f"{metric} needs required {kind}.{name}"

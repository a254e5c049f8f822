"""Every table holding personal data has a retention rule (or a declared `Kept`): the test walks every
service's models, finds the columns that hold personal data by name, and fails on a table with such a
column that no rule of that service (its own or the platform's) names in `tables`: a new table with personal
columns fails until it has its rule."""

import importlib
import re

from shared.platform.config import SERVICES
from shared.platform.retention import PLATFORM_RULES

# a person's identity, contact, pseudonym, or words written about them
PERSONAL = re.compile(
    r"^(name|resident_id|guardian_resident_id|id_number_\w+|phone_\w+|birth_\w+|recipient_\w+|personalisation|"
    r"body|wechat_openid|employer_name|statement|children|age|\w+_note)$"
)
# columns whose names match but that hold no person's data
NOT_PERSONAL = {
    ("housing", "projects", "name"): "a housing project",
    ("housing", "policy_versions", "name"): "a programme of the policy store",
    ("housing", "operator_assessments", "review_note"): "a reviewer's note on an operator (a company)",
    ("insurance", "policy_values", "name"): "a policy value's label",
    ("insurance", "policy_values", "note"): "a policy value's source",
    ("events", "policy_values", "name"): "a policy value's label",
    ("events", "venues", "name"): "a venue",
    ("events", "volunteer_teams", "name"): "a team",
    ("events", "care_visits", "children"): "how many children a care visit reached (a count)",
    ("notify", "templates", "name"): "a template",
    ("notify", "templates", "body"): "a template's text",
    ("notify", "broadcasts", "personalisation"): "one set of parameters for a whole segment, no recipient",
    ("notify", "broadcasts", "body"): "one text for a whole segment, no recipient",
}


def service_class(service: str) -> type:
    from shared.platform.service import PlatformService

    module = importlib.import_module(f"services.{service}.service")
    [cls] = {value for value in vars(module).values()
             if isinstance(value, type) and issubclass(value, PlatformService) and value.name == service}  # fmt: skip
    return cls


def personal_tables(service: str) -> dict[str, list[str]]:
    metadata = importlib.import_module(f"services.{service}.models").Base.metadata
    found = {}
    for table in metadata.tables.values():
        columns = [
            column.name
            for column in table.columns
            if PERSONAL.match(column.name) and (service, table.name, column.name) not in NOT_PERSONAL
        ]
        if columns:
            found[table.name] = columns
    return found


def covered_tables(service: str) -> set[str]:
    rules = (*PLATFORM_RULES, *service_class(service).retention_rules)
    return {table for rule in rules for table in rule.tables}


def test_every_table_with_personal_data_has_a_retention_rule():
    uncovered = {
        (service, table) for service in SERVICES for table in personal_tables(service)
        if table not in covered_tables(service)
    }  # fmt: skip
    assert uncovered == set(), "tables with personal columns and no retention rule (add one, or a Kept)"


def test_the_walk_finds_the_personal_columns_it_is_meant_to():
    """The name rule above is what the first test stands on: it must see the columns known to be personal."""
    assert {"name", "id_number_encrypted", "phone_encrypted", "resident_id"} <= set(
        personal_tables("housing")["subsidy_applications"]
    )
    assert {"recipient_encrypted", "body", "personalisation"} <= set(personal_tables("notify")["notifications"])
    assert "projects" not in personal_tables("housing")
    assert {"subsidy_applications", "tenancy_applications"} <= covered_tables("housing")


def test_every_rule_names_tables_that_exist():
    for service in SERVICES:
        metadata = importlib.import_module(f"services.{service}.models").Base.metadata
        assert covered_tables(service) - {"outbox", "processed_events"} <= set(metadata.tables), service

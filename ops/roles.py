"""Who may call which RPC, read from the services' own `@requires` decorators: the table of docs/security.md.

    python -m ops.roles   # prints the table; tests/ops/test_security_doc.py checks the page carries it

What a resident may touch through an RPC that admits them ("own") is not in the decorator, so it is said
once here, in `OWN`; the test also checks every RPC open to residents has its line and no other has one.
"""

from __future__ import annotations

import importlib
import sys

from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import Rpc

from shared.platform.config import SERVICES

BEGIN, END = "<!-- roles table: python -m ops.roles -->", "<!-- end of roles table -->"

OWN_CASES = "cases they submitted themselves (owner = their token subject)"
OWN_APPEALS = "appeals on their own cases"
OWN_HISTORY = "the trail of a case of their own (an unknown or another's case is NotFound)"
OWN = {
    ("housing", "submit_subsidy_application"): "in their own name only (the ID number's resident_id is their subject)",
    ("housing", "submit_tenancy_application"): "in their own name only (the ID number's resident_id is their subject)",
    ("housing", "appeal_subsidy_application"): OWN_CASES,
    ("housing", "get_subsidy_application"): OWN_CASES,
    ("housing", "list_subsidy_applications"): OWN_CASES,
    ("housing", "get_tenancy_application"): OWN_CASES,
    ("insurance", "check_eligibility"): "themselves, or as the named parent a child who is a minor today",
    ("insurance", "get_enrolment"): "enrolments of theirs, or of a child they applied for as guardian",
    ("insurance", "list_enrolments"): "enrolments of theirs, or of a child they applied for as guardian",
    ("events", "register"): "themselves as registrant (with their minor children)",
    ("events", "cancel_registration"): "registrations of their own",
    ("events", "accept_offer"): "registrations of their own",
    ("events", "get_registration"): "registrations of their own",
    ("events", "list_registrations"): "registrations of their own",
    ("notify", "set_preferences"): "their own contact (resident_id = their subject)",
    **{(service, "lodge_appeal"): OWN_APPEALS for service in ("housing", "insurance")},
    **{(service, "get_appeal"): OWN_APPEALS for service in ("housing", "insurance")},
    **{(service, "list_appeals"): OWN_APPEALS for service in ("housing", "insurance")},
    **{(service, "get_case_history"): OWN_HISTORY for service in SERVICES},
}


def service_class(service: str):
    module = importlib.import_module(f"services.{service}.service")
    return getattr(module, f"{service.capitalize()}Service")


def rpc_roles() -> list[tuple[str, str, tuple[str, ...] | None]]:
    """(service, rpc, roles) for every RPC; roles None for a public one."""
    found = []
    for service in SERVICES:
        cls = service_class(service)
        for name in sorted(dir(cls)):
            method = getattr(cls, name)
            if any(isinstance(entry, Rpc) for entry in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ())):
                roles = getattr(method, "required_roles", None)
                found.append((service, name, tuple(sorted(roles)) if roles else None))
    return found


def table() -> str:
    lines = [BEGIN, "| service | RPC | roles | a resident may act on |", "|---|---|---|---|"]
    for service, name, roles in rpc_roles():
        allowed = ", ".join(roles) if roles else "public"
        lines.append(f"| {service} | `{name}` | {allowed} | {OWN.get((service, name), '—')} |")
    lines.append(END)
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(table() + "\n")

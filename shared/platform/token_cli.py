"""`python -m shared.platform.auth`: the issuer's command line, configured from the environment.

issue --sub NAME --roles caseworker[,reviewer] [--ttl SECONDS]   # staff, as the registry grants
issue --resident ID_NUMBER [--ttl SECONDS]                       # that resident's own token
keygen --kid KID                                                 # a new key pair, as settings
keygen-events --service SERVICE --name NAME                      # a service's event-signing pair
revoke JTI_OR_TOKEN                                              # onto JWT_REVOCATION_LIST
staff grant STAFF_ID --roles R [--name LOGIN ...] --by OPERATOR  # the audited registry commands
staff revoke STAFF_ID --by OPERATOR
staff list
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import jwt

from shared.platform.auth import ROLES
from shared.platform.config import ConfigurationError
from shared.platform.event_signing import keygen as event_keygen
from shared.platform.personal_data import InvalidIdNumber
from shared.platform.revocations import revocation_path, revoke
from shared.platform.staff_registry import StaffRegistry, StaffRegistryError, registry_path
from shared.platform.token_issuer import issue_checked, resident_token
from shared.platform.token_keys import KeyFormatError, SigningKey

SETTINGS = (
    "ENV",
    "JWT_PRIVATE_KEY",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "JWT_MAX_TTL_SECONDS",
    "JWT_REVOCATION_LIST",
    "STAFF_REGISTRY",
    "PII_HMAC_KEY",
)


def environment_config() -> dict:
    return {key: os.environ[key] for key in SETTINGS if os.environ.get(key)}


def _roles(text: str) -> list[str]:
    return [role.strip() for role in text.split(",") if role.strip()]


def cmd_issue(args, config: dict) -> str:
    if args.resident:
        return resident_token(config, args.resident, args.ttl)
    if not args.sub or not args.roles:
        raise ValueError("give --sub and --roles, or --resident")
    return issue_checked(config, args.sub, _roles(args.roles), args.ttl)


def cmd_keygen(args, config: dict) -> str:
    key = SigningKey.generate(args.kid)
    return f"JWT_PRIVATE_KEY={key.setting()}\nJWT_PUBLIC_KEYS={key.public_setting()}"


def cmd_keygen_events(args, config: dict) -> str:
    signing, public = event_keygen(args.service, args.name)
    return f"EVENT_SIGNING_KEY={signing}\n# add to every service's EVENT_PUBLIC_KEYS:\n{public}"


def cmd_revoke(args, config: dict) -> str:
    jti = args.jti
    if jti.count(".") == 2:  # a whole token: its id, read without checking (revoking needs no trust)
        jti = str(jwt.decode(jti, options={"verify_signature": False}).get("jti") or "")
    if not jti:
        raise ValueError("that token has no id (jti)")
    revoke(revocation_path(config), jti)
    return f"revoked {jti}"


def cmd_staff(args, config: dict) -> str:
    registry = StaffRegistry(registry_path(config))
    if args.action == "grant":
        entry = registry.grant(args.staff_id, _roles(args.roles), args.name or (), by=args.by)
        return f"{entry.staff_id}: {', '.join(sorted(entry.roles))}"
    if args.action == "revoke":
        registry.remove(args.staff_id, by=args.by)
        return f"{args.staff_id} removed"
    entries = registry.entries().values()
    return json.dumps([{"staff_id": e.staff_id, "names": sorted(e.names), "roles": sorted(e.roles)} for e in entries])


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m shared.platform.auth")
    commands = parser.add_subparsers(dest="command", required=True)
    issue = commands.add_parser("issue", help="print a signed caller token")
    issue.add_argument("--sub", help="a staff name in the registry (entered there outside production)")
    issue.add_argument("--roles", help="comma-separated: " + ",".join(sorted(ROLES)))
    issue.add_argument("--resident", metavar="ID_NUMBER", help="a resident token for that person")
    issue.add_argument("--ttl", type=int, default=None, help="seconds, at most JWT_MAX_TTL_SECONDS")
    issue.set_defaults(run=cmd_issue)
    keygen = commands.add_parser("keygen", help="print a new Ed25519 key pair as JWT_* settings")
    keygen.add_argument("--kid", required=True)
    keygen.set_defaults(run=cmd_keygen)
    events = commands.add_parser("keygen-events", help="print a new event-signing key pair for one service")
    events.add_argument("--service", required=True)
    events.add_argument("--name", required=True, help="the key's name after the service, e.g. 2026-12")
    events.set_defaults(run=cmd_keygen_events)
    revoke = commands.add_parser("revoke", help="add a token id to the revocation list")
    revoke.add_argument("jti", metavar="JTI_OR_TOKEN")
    revoke.set_defaults(run=cmd_revoke)
    staff = commands.add_parser("staff", help="the staff registry (every change is audited)")
    staff.add_argument("action", choices=("grant", "revoke", "list"))
    staff.add_argument("staff_id", nargs="?")
    staff.add_argument("--roles", default="")
    staff.add_argument("--name", action="append", help="a login name of this person (repeatable)")
    staff.add_argument("--by", help="the operator making the change (recorded)")
    staff.set_defaults(run=cmd_staff)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "staff" and args.action != "list" and not (args.staff_id and args.by):
        print("staff grant/revoke need STAFF_ID and --by OPERATOR", file=sys.stderr)
        return 2
    try:
        print(args.run(args, environment_config()))
    except (ValueError, RuntimeError, ConfigurationError, StaffRegistryError, KeyFormatError, InvalidIdNumber) as error:
        print(f"refused: {error}", file=sys.stderr)
        return 1
    return 0

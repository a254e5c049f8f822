"""Create, rotate and remove the platform's RabbitMQ users (one per service, ops and topology), with the
permissions `shared/platform/broker_access.py` derives from the topology, through RabbitMQ's management API.

    python -m ops.broker_users apply --api http://ADMIN:PASSWORD@HOST:15672 [--vhost /]
        # passwords from <IDENTITY>_BROKER_PASSWORD (HOUSING_BROKER_PASSWORD … OPS_, TOPOLOGY_BROKER_PASSWORD)
    python -m ops.broker_users local [--api …] [--env-file var/broker-users.env]
        # the opt-in local set-up: new random passwords, and the AMQP URIs written for `make start`
    python -m ops.broker_users remove --api …

Applying again is how a password is rotated: the user keeps its name and permissions, its new password
takes effect at its next connection (docs/operations.md). The administrator's own credentials are used only
here, never by a service.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import requests

from shared.platform.broker_access import IDENTITIES, TOPOLOGY, Permissions, amqp_uri_variable, permissions, username
from shared.platform.config import REPO_ROOT

DEFAULT_API = "http://guest:guest@127.0.0.1:15672"
DEFAULT_ENV_FILE = REPO_ROOT / "var" / "broker-users.env"


def password_variable(identity: str) -> str:
    return f"{identity.upper()}_BROKER_PASSWORD"


@dataclass
class ManagementApi:
    """The few management API calls this needs; `url` carries the administrator's credentials."""

    url: str
    timeout: float = 10

    def __post_init__(self):
        parts = urlsplit(self.url)
        self.base = f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}/api"
        self.auth = (parts.username or "", parts.password or "")

    def _call(self, method: str, path: str, json: dict | None = None) -> requests.Response:
        response = requests.request(method, f"{self.base}/{path}", json=json, auth=self.auth, timeout=self.timeout)
        if response.status_code == 404 and method == "DELETE":
            return response  # already gone
        response.raise_for_status()
        return response

    def put_user(self, name: str, password: str) -> None:
        self._call("PUT", f"users/{quote(name, safe='')}", {"password": password, "tags": ""})

    def set_permissions(self, vhost: str, name: str, granted: Permissions) -> None:
        where = f"{quote(vhost, safe='')}/{quote(name, safe='')}"
        self._call("PUT", f"permissions/{where}", {"configure": granted.configure, "write": granted.write,
                                                    "read": granted.read})  # fmt: skip
        for on in granted.topics:
            self._call("PUT", f"topic-permissions/{where}", {"exchange": on.exchange, "write": on.write,
                                                              "read": on.read})  # fmt: skip

    def delete_user(self, name: str) -> None:
        self._call("DELETE", f"users/{quote(name, safe='')}")


def apply(api: ManagementApi, vhost: str, passwords: dict[str, str], suffix: str = "") -> dict[str, str]:
    """Create or update every identity's user and permissions on `vhost`; returns {identity: username}.
    `suffix` makes the names unique (the tests' throw-away users beside the real ones)."""
    granted = permissions()
    names = {}
    for identity in IDENTITIES:
        name = username(identity) + suffix
        api.put_user(name, passwords[identity])
        api.set_permissions(vhost, name, granted[identity])
        names[identity] = name
    return names


def remove(api: ManagementApi, suffix: str = "") -> None:
    for identity in IDENTITIES:
        api.delete_user(username(identity) + suffix)


def new_passwords() -> dict[str, str]:
    return {identity: secrets.token_hex(24) for identity in IDENTITIES}


def amqp_uris(host: str, port: int, vhost: str, names: dict[str, str], passwords: dict[str, str]) -> dict[str, str]:
    """{<IDENTITY>_AMQP_URI: its URI}; the vhost `/` is written as an empty path, as kombu reads it."""
    path = "" if vhost == "/" else quote(vhost, safe="")
    return {
        amqp_uri_variable(identity): f"pyamqp://{quote(name, safe='')}:{quote(passwords[identity], safe='')}"
        f"@{host}:{port}/{path}"
        for identity, name in names.items()
    }


def passwords_from_env() -> dict[str, str]:
    missing = [
        password_variable(identity) for identity in IDENTITIES if not os.environ.get(password_variable(identity))
    ]
    if missing:
        raise SystemExit(f"set {', '.join(missing)}")
    return {identity: os.environ[password_variable(identity)] for identity in IDENTITIES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.broker_users")
    parser.add_argument("command", choices=("apply", "local", "remove"))
    parser.add_argument("--api", default=os.environ.get("RABBITMQ_ADMIN_API", DEFAULT_API))
    parser.add_argument("--vhost", default="/")
    parser.add_argument("--env-file", type=Path, default=DEFAULT_ENV_FILE)
    parser.add_argument("--suffix", default="", help="appended to every user name (throw-away users beside the real)")
    args = parser.parse_args(argv)
    api = ManagementApi(args.api)
    if args.command == "remove":
        remove(api, args.suffix)
        print(f"removed the {len(IDENTITIES)} platform users")
        return 0
    passwords = passwords_from_env() if args.command == "apply" else new_passwords()
    names = apply(api, args.vhost, passwords, args.suffix)
    print(f"applied {len(names)} users on vhost {args.vhost}: {', '.join(names.values())}")
    if args.command == "local":
        uris = amqp_uris(urlsplit(args.api).hostname or "127.0.0.1", 5672, args.vhost, names, passwords)
        args.env_file.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{variable}={uri}" for variable, uri in uris.items()]
        args.env_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        args.env_file.chmod(0o600)
        topology_line = amqp_uri_variable(TOPOLOGY)
        print(f"wrote {args.env_file} (the {topology_line} line is for `python -m shared.platform.topology`)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the ops CLI knows about the platform: the services' own config files, read as the services read them.

Every value comes from `services/<name>/config.yaml` with its `${VAR:default}` expanded from the
environment, so the CLI talks to the broker, databases and HTTP ports that the running services use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from nameko.constants import AMQP_URI_CONFIG_KEY

from shared.platform.broker_access import OPS, own_amqp_uri
from shared.platform.config import SERVICES, load_service_config
from shared.platform.token_issuer import issue_checked

ADMIN_SUBJECT = "ops-cli"
ADMIN_TOKEN_TTL_SECONDS = 3600


@dataclass(frozen=True)
class ServiceSettings:
    name: str
    config: dict

    @property
    def database_url(self) -> str:
        return str(self.config["DATABASE_URL"])

    @property
    def http_base(self) -> str:
        host, port = str(self.config["WEB_SERVER_ADDRESS"]).rsplit(":", 1)
        return f"http://{'127.0.0.1' if host in ('0.0.0.0', '', '::') else host}:{port}"


class Settings:
    """The platform as the local configuration describes it. Loaded once per command."""

    def __init__(self, services: tuple[str, ...] = SERVICES):
        self.services = {name: ServiceSettings(name, load_service_config(name)) for name in services}
        self.base = next(iter(self.services.values())).config

    @property
    def amqp_uri(self) -> str:
        return own_amqp_uri(OPS, os.environ, str(self.base[AMQP_URI_CONFIG_KEY]))

    def service(self, name: str) -> ServiceSettings:
        return self.services[name]

    def rpc_config(self) -> dict:
        return {AMQP_URI_CONFIG_KEY: self.amqp_uri}

    def issuer_config(self) -> dict:
        """The services' token policy with what only the issuer has: the private key and the staff registry."""
        return {
            **self.base,
            "JWT_PRIVATE_KEY": os.environ.get("JWT_PRIVATE_KEY", ""),
            "STAFF_REGISTRY": os.environ.get("STAFF_REGISTRY", ""),
        }

    def token(self, sub: str = ADMIN_SUBJECT, roles=("admin",), ttl_seconds: int = ADMIN_TOKEN_TTL_SECONDS) -> str:
        return issue_checked(self.issuer_config(), sub, roles, ttl_seconds)

"""Every public RPC of every service, found from the service classes (a new RPC is covered without a change)."""

import importlib
import inspect
from dataclasses import dataclass

from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import Rpc

from shared.config import SERVICES


@dataclass(frozen=True)
class PublicRpc:
    service: str
    method: str
    signature: inspect.Signature
    read_only: bool

    @property
    def id(self) -> str:
        return f"{self.service}.{self.method}"


def public_rpcs() -> list[PublicRpc]:
    found = []
    for service in SERVICES:
        module = importlib.import_module(f"services.{service}.service")
        cls = getattr(module, f"{service.capitalize()}Service")
        for name in sorted(dir(cls)):
            method = getattr(cls, name)
            entrypoints = [e for e in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()) if isinstance(e, Rpc)]
            if entrypoints:
                read_only = all(getattr(e, "read_only", False) for e in entrypoints)
                found.append(PublicRpc(service, name, inspect.signature(method), read_only))
    return found

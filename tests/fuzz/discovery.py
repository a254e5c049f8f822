"""Every public RPC and HTTP route of every service, found from the service classes (a new one is covered
without a change)."""

import importlib
import inspect
from dataclasses import dataclass

from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import Rpc
from nameko.web.handlers import HttpRequestHandler

from shared.platform.config import SERVICES


@dataclass(frozen=True)
class PublicRpc:
    service: str
    method: str
    signature: inspect.Signature
    read_only: bool

    @property
    def id(self) -> str:
        return f"{self.service}.{self.method}"


def _service_class(service: str) -> type:
    return getattr(importlib.import_module(f"services.{service}.service"), f"{service.capitalize()}Service")


def public_rpcs() -> list[PublicRpc]:
    found = []
    for service in SERVICES:
        cls = _service_class(service)
        for name in sorted(dir(cls)):
            method = getattr(cls, name)
            entrypoints = [e for e in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()) if isinstance(e, Rpc)]
            if entrypoints:
                read_only = all(getattr(e, "read_only", False) for e in entrypoints)
                found.append(PublicRpc(service, name, inspect.signature(method), read_only))
    return found


@dataclass(frozen=True)
class HttpRoute:
    service: str
    method: str
    url: str  # werkzeug's rule, e.g. /callbacks/<provider>/<token>/<kind>

    @property
    def id(self) -> str:
        return f"{self.service} {self.method} {self.url}"


def http_routes() -> list[HttpRoute]:
    found = set()
    for service in SERVICES:
        cls = _service_class(service)
        for name in dir(cls):
            for entrypoint in getattr(getattr(cls, name), ENTRYPOINT_EXTENSIONS_ATTR, ()):
                if isinstance(entrypoint, HttpRequestHandler):
                    found.add(HttpRoute(service, entrypoint.method, entrypoint.url))
    return sorted(found, key=lambda route: route.id)

"""The HTTP server every service's routes share: no client can hold a connection, or a worker, longer than the
limits below, and HTTP never takes a worker that RPC and events could use.

nameko's server reads with no timeout and spawns a container worker per request from the same `max_workers`
pool as RPC; 12 slow bodies on notify's receipt callback held all 10 workers and its RPCs waited 20 s.
Here a request's headers must arrive within `HTTP_HEADER_TIMEOUT_SECONDS` and its body within
`HTTP_BODY_TIMEOUT_SECONDS`, read by the connection's own greenlet before any worker exists; a port holds
at most `HTTP_MAX_CONNECTIONS` connections (more are answered 503 at once); and the pool gains
`HTTP_MAX_WORKERS` slots that only HTTP routes take (`shared.platform.web` gates them), so RPC keeps its own.

A connection over the cap may still be a probe: up to `HTTP_MAX_PROBE_CONNECTIONS` more are read (request
line and headers, within the header timeout) and answered if they ask for `/livez`, `/readyz` or `/health`,
503 otherwise; with 200 clients holding a port, the kubelet's probe would otherwise be refused and the pod
restarted for being attacked.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import eventlet
from eventlet import wsgi
from eventlet.semaphore import Semaphore
from nameko.web.server import HttpOnlyProtocol, WebServer

log = logging.getLogger(__name__)

CLOSE_CONNECTION = "shared.http.close_connection"
SETTINGS = {
    "header_seconds": "HTTP_HEADER_TIMEOUT_SECONDS",
    "body_seconds": "HTTP_BODY_TIMEOUT_SECONDS",
    "socket_seconds": "HTTP_SOCKET_TIMEOUT_SECONDS",
    "keepalive_seconds": "HTTP_KEEPALIVE_SECONDS",
    "max_connections": "HTTP_MAX_CONNECTIONS",
    "max_probe_connections": "HTTP_MAX_PROBE_CONNECTIONS",
    "max_workers": "HTTP_MAX_WORKERS",
    "route_max_workers": "HTTP_ROUTE_MAX_WORKERS",
    "retry_after_seconds": "HTTP_RETRY_AFTER_SECONDS",
}


@dataclass(frozen=True)
class HttpLimits:
    header_seconds: float = 10.0
    body_seconds: float = 10.0
    socket_seconds: float = 10.0
    keepalive_seconds: float = 5.0
    max_connections: int = 128
    max_probe_connections: int = 16
    max_workers: int = 4
    route_max_workers: int = 2
    retry_after_seconds: int = 1

    @classmethod
    def from_config(cls, config) -> HttpLimits:
        values = {}
        for field, key in SETTINGS.items():
            if config.get(key) is not None:
                kind = type(getattr(cls, field))
                values[field] = max(kind(config[key]), kind(1) if kind is int else kind(0.01))
        return cls(**values)

    def busy_response(self) -> bytes:
        body = b'{"error": "busy"}'
        return (
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
            b"Retry-After: %d\r\nContent-Length: %d\r\n\r\n%s" % (self.retry_after_seconds, len(body), body)
        )


class HeaderDeadline(Exception):
    """Raised in a connection's greenlet when a request's line and headers took longer than allowed."""


class DeadlineProtocol(HttpOnlyProtocol):
    """eventlet's protocol, with one deadline for the request line and headers together: its socket timeout
    is per read, so a client sending a byte every few seconds would otherwise hold the connection for ever."""

    def handle_one_request(self):
        self._header_deadline = eventlet.Timeout(self.server.header_seconds, HeaderDeadline())
        try:
            super().handle_one_request()
        except HeaderDeadline:
            self.close_connection = 1
        finally:
            self._header_deadline.cancel()

    def parse_request(self):
        parsed = super().parse_request()  # reads the headers
        self._header_deadline.cancel()
        return parsed

    def get_environ(self):
        environ = super().get_environ()
        # a handler that stopped reading a body says so, and eventlet then closes instead of draining it
        environ[CLOSE_CONNECTION] = lambda: setattr(self, "close_connection", 1)
        return environ


class GuardedWebServer(WebServer):
    """nameko's `WebServer` with the limits of `HttpLimits`. It also closes its listening socket on kill, not
    only on stop: Linux lets a new listener share the port (SO_REUSEPORT), so a container restarted in the same
    process would otherwise split incoming connections with the dead socket."""

    def __init__(self):
        super().__init__()
        self.limits = HttpLimits()
        self.connections = 0
        self.probe_connections = 0
        self.http_workers = None

    def setup(self):
        self.limits = HttpLimits.from_config(self.container.config)
        self.http_workers = Semaphore(self.limits.max_workers)
        pool = self.container._worker_pool  # nameko offers no other way to size it
        pool.resize(self.container.max_workers + self.limits.max_workers)
        super().setup()

    def get_wsgi_server(self, sock, wsgi_app, protocol=DeadlineProtocol, debug=False):
        server = wsgi.Server(
            sock,
            sock.getsockname(),
            wsgi_app,
            protocol=protocol,
            debug=debug,
            log=logging.getLogger("nameko.web.server"),
            socket_timeout=self.limits.socket_seconds,
            keepalive=self.limits.keepalive_seconds,
        )
        server.header_seconds = self.limits.header_seconds
        return server

    def run(self):
        while self._is_accepting:
            sock, addr = self._sock.accept()
            if self.connections >= self.limits.max_connections:
                if self.probe_connections >= self.limits.max_probe_connections:
                    refuse(sock, self.limits.busy_response())
                else:
                    self.probe_connections += 1
                    self.container.spawn_managed_thread(lambda sock=sock: self.probe_only(sock))
                continue
            sock.settimeout(self._serv.socket_timeout)
            self.connections += 1
            self.container.spawn_managed_thread(lambda sock=sock, addr=addr: self.serve(sock, addr))

    def serve(self, sock, addr):
        try:
            self.process_request(sock, addr)
        finally:
            self.connections -= 1
            sock.close()

    def probe_only(self, sock):
        """Over the cap: a probe is answered by this greenlet (never a worker), anything else is 503."""
        try:
            path = None
            with eventlet.Timeout(self.limits.header_seconds, False):
                path = probe_path(sock.makefile("rb"))
            probes = {p.url: p for p in self._providers if hasattr(p, "checked")}  # shared.platform.probes' handlers
            if path in probes:
                ok, body = probes[path].checked()
                sock.sendall(json_answer(200 if ok else 503, body))
            else:
                sock.sendall(self.limits.busy_response())
        except OSError:
            pass
        finally:
            self.probe_connections -= 1
            sock.close()

    def kill(self):
        self._is_accepting = False
        if self._gt is not None:
            self._gt.kill()
        if self._sock is not None:
            self._sock.close()
        super().kill()


def refuse(sock, response: bytes) -> None:
    """Over the connection limit: a 503 the client can act on, without spawning anything to send it."""
    try:
        sock.setblocking(False)
        sock.send(response)
    except OSError:
        pass
    finally:
        sock.close()


def probe_path(stream, limit: int = 8192) -> str | None:
    """The path of a `GET` whose headers were all read (closing on unread ones would reset the connection)."""
    request_line = stream.readline(1024).split()
    read = 0
    while read < limit:
        line = stream.readline(limit)
        read += len(line)
        if line in (b"\r\n", b"\n"):
            if len(request_line) == 3 and request_line[0] == b"GET":
                return request_line[1].split(b"?", 1)[0].decode("ascii", "replace")
            return None
        if not line:
            return None
    return None


def json_answer(status: int, body: dict) -> bytes:
    payload = json.dumps(body).encode()
    reason = b"OK" if status == 200 else b"Service Unavailable"
    return b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" % (
        status,
        reason,
        len(payload),
        payload,
    )

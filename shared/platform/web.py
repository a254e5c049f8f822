"""HTTP entrypoints whose error responses never echo exception text (nameko's default does), and which
refuse a body larger than `HTTP_MAX_BODY_BYTES` (1 MiB unless configured) with 413, and a chunked body
(no length) with 411, before any worker reads it.

The body is read whole by the connection's greenlet, within `HTTP_BODY_TIMEOUT_SECONDS` (408 otherwise), so
a slow client never holds a worker. Then a worker runs only if its route has fewer than
`HTTP_ROUTE_MAX_WORKERS` running and all HTTP routes fewer than `HTTP_MAX_WORKERS` (`shared.platform.http_server`
adds those to the pool); otherwise 503 with Retry-After, at once."""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager

import eventlet
from eventlet.semaphore import Semaphore
from nameko.exceptions import BadRequest
from nameko.web.handlers import HttpRequestHandler
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from shared.platform.http_server import CLOSE_CONNECTION, GuardedWebServer, HttpLimits

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class SafeHttpRequestHandler(HttpRequestHandler):
    server = GuardedWebServer()

    def setup(self):
        super().setup()
        self.max_body = int(self.container.config.get("HTTP_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES))
        # from the config, not the server's limits: the server may not have been set up yet
        self.route_workers = Semaphore(HttpLimits.from_config(self.container.config).route_max_workers)

    def handle_request(self, request):
        if request.content_length is not None and request.content_length > self.max_body:
            return error_response(413, "body too large")
        if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            # werkzeug would read a body without a length as empty; say so rather than act on nothing
            return error_response(411, "length required")
        request.max_content_length = self.max_body
        if not read_body(request, self.server.limits.body_seconds):
            return error_response(408, "body not received in time")
        return self.answer(request)

    def answer(self, request):
        """In a worker of HTTP's own share of the pool, or 503 when this route's or all routes' share is full."""
        with held(self.route_workers) as route_free, held(self.server.http_workers) as http_free:
            if not (route_free and http_free):
                return busy_response(self.server.limits.retry_after_seconds)
            return super().handle_request(request)

    def response_from_exception(self, exc):
        if isinstance(exc, HTTPException) and exc.code is not None and 400 <= exc.code < 500:
            status, error = exc.code, (exc.name or "bad request").lower()
        elif isinstance(exc, self.expected_exceptions) or isinstance(exc, BadRequest):
            status, error = 400, "bad request"
        else:
            status, error = 500, "internal error"
            log.error("http %s %s failed: %s", self.method, self.url, type(exc).__name__)
        return error_response(status, error)


http = SafeHttpRequestHandler.decorator


def read_body(request, seconds: float) -> bool:
    """Reads the whole body into the request (handlers' `get_data` then returns it) within `seconds`."""
    request.shallow = False
    deadline = eventlet.Timeout(seconds)
    try:
        request.get_data(cache=True)
        return True
    except eventlet.Timeout as exc:
        if exc is not deadline:
            raise
        request.environ.get(CLOSE_CONNECTION, lambda: None)()  # the rest of the body is not worth waiting for
        return False
    finally:
        deadline.cancel()


@contextmanager
def held(semaphore: Semaphore):
    """Takes the semaphore if it is free, without waiting; yields whether it did."""
    taken = semaphore.acquire(blocking=False)
    try:
        yield taken
    finally:
        if taken:
            semaphore.release()


def busy_response(retry_after: int) -> Response:
    response = error_response(503, "busy")
    response.headers["Retry-After"] = str(retry_after)
    return response


def error_response(status: int, error: str) -> Response:
    """A JSON error with a fixed message: never the exception's text."""
    return Response(json.dumps({"error": error}), status=status, mimetype="application/json")


def json_response(payload, status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json")

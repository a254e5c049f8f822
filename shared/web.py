"""HTTP entrypoints whose error responses never echo exception text (nameko's default does), and which
refuse a body larger than `HTTP_MAX_BODY_BYTES` (1 MiB unless configured) with 413, and a chunked body
(no length) with 411, before any worker reads it."""

from __future__ import annotations

import json
import logging

from nameko.exceptions import BadRequest
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class ReleasingWebServer(WebServer):
    """nameko's server closes its listening socket on stop but not on kill. Linux lets a new listener share
    the port (SO_REUSEPORT), so a container restarted in the same process would split incoming
    connections with the dead socket; closing it on kill keeps the port the new container's alone."""

    def kill(self):
        self._is_accepting = False
        if self._gt is not None:
            self._gt.kill()
        if self._sock is not None:
            self._sock.close()
        super().kill()


class SafeHttpRequestHandler(HttpRequestHandler):
    server = ReleasingWebServer()

    def setup(self):
        super().setup()
        self.max_body = int(self.container.config.get("HTTP_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES))

    def handle_request(self, request):
        if request.content_length is not None and request.content_length > self.max_body:
            return error_response(413, "body too large")
        if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            # werkzeug would read a body without a length as empty; say so rather than act on nothing
            return error_response(411, "length required")
        request.max_content_length = self.max_body
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


def error_response(status: int, error: str) -> Response:
    """A JSON error with a fixed message: never the exception's text."""
    return Response(json.dumps({"error": error}), status=status, mimetype="application/json")


def json_response(payload, status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json")

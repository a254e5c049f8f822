"""HTTP entrypoints whose error responses never echo exception text (nameko's default does)."""

from __future__ import annotations

import json
import logging

from nameko.exceptions import BadRequest
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)


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

    def response_from_exception(self, exc):
        if isinstance(exc, self.expected_exceptions) or isinstance(exc, BadRequest):
            status, error = 400, "bad request"
        else:
            status, error = 500, "internal error"
            log.error("http %s %s failed: %s", self.method, self.url, type(exc).__name__)
        return Response(json.dumps({"error": error}), status=status, mimetype="application/json")


http = SafeHttpRequestHandler.decorator


def json_response(payload, status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json")

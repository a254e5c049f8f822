"""HTTP entrypoints whose error responses never echo exception text (nameko's default does)."""

from __future__ import annotations

import json
import logging

from nameko.exceptions import BadRequest
from nameko.web.handlers import HttpRequestHandler
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)


class SafeHttpRequestHandler(HttpRequestHandler):
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

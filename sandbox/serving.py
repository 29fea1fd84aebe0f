"""The sandbox's HTTP server: werkzeug's threaded server, with an access log that shows no query strings
(they can carry user ids) and no media references (they work like short-lived credentials)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class RedactingRequestHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path.split("?", 1)[0]
        if path.startswith("/media/file/"):
            path = "/media/file/[reference]"
        self.log("info", '"%s %s" %s', self.command, path, code)


def sandbox_server(host: str, port: int, app: Flask | Any) -> BaseWSGIServer:
    return make_server(host, port, app, threaded=True, request_handler=RedactingRequestHandler)

"""A stand-in for GitHub's REST API on 127.0.0.1: it records the repository_dispatch requests
EventBridge's API destination sends (POST /repos/<owner>/<repo>/dispatches) and answers 204 as
GitHub does; anything else is a 404."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DISPATCHES = re.compile(r"^/repos/[^/]+/[^/]+/dispatches$")


class FakeGitHub:
    def __init__(self) -> None:
        self.dispatches: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not DISPATCHES.match(self.path):
                    self.send_response(404)
                    self.end_headers()
                    return
                fake.dispatches.append(
                    {"path": self.path, "headers": dict(self.headers), "payload": json.loads(body or b"null")}
                )
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

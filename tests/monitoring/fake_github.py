"""A stand-in for GitHub's REST API on 127.0.0.1: it records the repository_dispatch requests
EventBridge's API destination sends (POST /repos/<owner>/<repo>/dispatches, answered 204 as GitHub
does) and keeps issues and their comments (GET and POST /repos/<owner>/<repo>/issues, POST
.../issues/<n>/comments) for the drift workflow's step; anything else is a 404.

Every request must carry one of the tokens it was given (`Authorization: token|bearer <token>`),
checked as the rehearsal's fake GitHub checks its tokens (textclf.rehearsal.github.check_token):
a missing or other token is answered 401 "Bad credentials", as GitHub answers it, and the request
is not recorded as a dispatch, an issue or a comment."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from textclf.rehearsal.github import GitHubError, check_token

REPO = r"^/repos/[^/]+/[^/]+"
# The tokens the tests of this suite send when they name none: the drift issue's client ("t0ken",
# "t"), the EventBridge connection's API key ("test-token"), and the placeholder Terraform gives the
# connection until `aws events update-connection` sets the real token (terraform/events.tf).
TEST_TOKENS = ("t0ken", "t", "test-token", "set-with-aws-events-update-connection")


class FakeGitHub:
    def __init__(self, tokens: tuple[str, ...] = TEST_TOKENS) -> None:
        # token -> login, the shape textclf.rehearsal.github.check_token reads.
        self.tokens = {token: "test" for token in tokens}
        self.dispatches: list[dict[str, Any]] = []
        self.issues: list[dict[str, Any]] = []  # {"number", "title", "body", "state", "comments", ...}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, payload: Any = None) -> None:
                body = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def authorized(self) -> bool:
                try:
                    check_token(fake.tokens, self.headers)
                except GitHubError as error:
                    self._reply(error.status, {"message": str(error)})
                    return False
                return True

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                fake.requests.append(("GET", self.path, dict(self.headers)))
                if not self.authorized():
                    return None
                if not re.match(REPO + r"/issues$", url.path):
                    return self._reply(404, {"message": "Not Found"})
                query = parse_qs(url.query)
                page, size = int(query.get("page", ["1"])[0]), int(query.get("per_page", ["30"])[0])
                listed = [i for i in fake.issues if i["state"] == query.get("state", ["open"])[0]]
                return self._reply(200, listed[(page - 1) * size : page * size])

            def do_POST(self) -> None:
                path = urlsplit(self.path).path
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.requests.append(("POST", self.path, dict(self.headers)))
                if not self.authorized():
                    return None
                payload = json.loads(body or b"null")
                if re.match(REPO + r"/dispatches$", path):
                    fake.dispatches.append({"path": path, "headers": dict(self.headers), "payload": payload})
                    return self._reply(204)
                if re.match(REPO + r"/issues$", path):
                    # GITHUB_TOKEN's issues are github-actions[bot]'s (what opened_by_us looks for).
                    issue = {
                        "number": len(fake.issues) + 1,
                        "state": "open",
                        "comments": [],
                        "user": {"login": "github-actions[bot]"},
                        "author_association": "NONE",
                        **payload,
                    }
                    fake.issues.append(issue)
                    return self._reply(201, issue)
                found = re.match(REPO + r"/issues/(\d+)/comments$", path)
                if found:
                    issue = fake.issues[int(found.group(1)) - 1]
                    issue["comments"].append(payload["body"])
                    return self._reply(201, {"id": len(issue["comments"])})
                return self._reply(404, {"message": "Not Found"})

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

"""A stand-in for GitHub's OIDC issuer for the stop-training function: its own RSA key (the local
cloud's SigningKey), its JWKS served on 127.0.0.1, a runner's token endpoint, signed tokens.

The tokens have the claims GitHub's OIDC reference lists for a pull request's job (repository,
event_name, ref, run_id, run_attempt, ...) and are signed RS256 with a 2048-bit key, as GitHub's
are; the stop-training function fetches the keys from `jwks_url` as it fetches GitHub's.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from textclf.localcloud.oidc import SigningKey

ISSUER = "https://token.actions.githubusercontent.com"
REQUEST_TOKEN = "runner-request-token"  # ACTIONS_ID_TOKEN_REQUEST_TOKEN's stand-in


class Issuer(SigningKey):
    """A key of its own (sign, jwks, verify from the local cloud's issuer), the claims of a pull
    request's job, and an HTTP server for its JWKS and a runner's token endpoint."""

    def __init__(self, kid: str = "test-key-1", bits: int = 2048) -> None:
        super().__init__(kid, bits)
        self._server: ThreadingHTTPServer | None = None
        self.run: dict[str, Any] | None = None  # the run the token endpoint issues tokens for

    def claims(
        self, audience: str, repo: str, run_id: int = 4242, attempt: int = 1, pr: int = 7, **changes: Any
    ) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": audience,
            "sub": f"repo:{repo}:pull_request:ref:refs/pull/{pr}/merge",
            "repository": repo,
            "repository_id": "123456789",
            "event_name": "pull_request",
            "ref": f"refs/pull/{pr}/merge",
            "run_id": str(run_id),
            "run_attempt": str(attempt),
            "actor": "contributor",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
        }
        claims.update(changes)
        return {key: value for key, value in claims.items() if value is not None}

    def token(self, audience: str, repo: str, **claims: Any) -> str:
        return self.sign(self.claims(audience, repo, **claims))

    # --- the JWKS endpoint ---------------------------------------------------------------------

    def serve(self) -> str:
        """Serve the JWKS on 127.0.0.1 and a runner's token endpoint; returns the JWKS URL.
        stop() ends it."""
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                if path == "/.well-known/jwks":
                    self._answer(200, issuer.jwks())
                elif path == "/id-token":
                    self._token(parse_qs(query))
                else:
                    self._answer(404, {})

            def _token(self, query: dict[str, list[str]]) -> None:
                # As the runner's ACTIONS_ID_TOKEN_REQUEST_URL: the bearer, then any audience asked for.
                if self.headers.get("Authorization") != f"bearer {REQUEST_TOKEN}" or issuer.run is None:
                    self._answer(401, {"message": "bad credentials"})
                    return
                audience = query.get("audience", ["https://github.com/" + issuer.run["repo"].split("/")[0]])[
                    0
                ]
                self._answer(200, {"value": issuer.token(audience, **issuer.run)})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(body).encode())

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"{self.base_url}/.well-known/jwks"

    @property
    def base_url(self) -> str:
        assert self._server is not None, "serve() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def runner_env(self, repo: str, **claims: Any) -> dict[str, str]:
        """What a job with `id-token: write` gets to ask for tokens, for the run `claims` describe."""
        self.run = {"repo": repo, **claims}
        return {
            "ACTIONS_ID_TOKEN_REQUEST_URL": f"{self.base_url}/id-token?api-version=2.0",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": REQUEST_TOKEN,
        }

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

"""A stand-in for GitHub's OIDC issuer: an RSA key, its JWKS served on 127.0.0.1, signed tokens.

The tokens have the claims GitHub's OIDC reference lists for a workflow job (repository, event_name,
ref, run_id, run_attempt, ...) and are signed RS256 with a 2048-bit key, as GitHub's are; the
stop-training function fetches the keys from `jwks_url` as it fetches GitHub's.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ISSUER = "https://token.actions.githubusercontent.com"
REQUEST_TOKEN = "runner-request-token"  # ACTIONS_ID_TOKEN_REQUEST_TOKEN's stand-in


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _int(number: int) -> str:
    return b64url(number.to_bytes((number.bit_length() + 7) // 8, "big"))


class Issuer:
    def __init__(self, kid: str = "test-key-1", bits: int = 2048) -> None:
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        self._server: ThreadingHTTPServer | None = None
        self.run: dict[str, Any] | None = None  # the run the token endpoint issues tokens for

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": self.kid,
                    "n": _int(numbers.n),
                    "e": _int(numbers.e),
                }
            ]
        }

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

    def sign(self, claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
        header = header or {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"

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

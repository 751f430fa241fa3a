"""GitHub's OIDC token service, offline: the local cloud signs workflow tokens and STS checks them.

AWS STS accepts a web identity token only if its signature verifies with the identity provider's
published keys (STS API reference, AssumeRoleWithWebIdentity: InvalidIdentityToken). GitHub's keys
cannot be reached offline, so the local cloud plays the issuer: it holds an RSA key (made per
process, never written down) and

- `POST /moto-api/textclf/github-oidc/token` with a job's claims answers `{"value": "<JWT>"}`,
  signed RS256 as GitHub signs (textclf.localcloud.principals asks it, as a job asks GitHub);
- `GET /moto-api/textclf/github-oidc/jwks` answers the public key as a JWKS, as GitHub's
  `jwks_uri` does (the stop-training function can be pointed at it);
- `verify(token)` is what AssumeRoleWithWebIdentity runs before it reads any claim: a token signed
  by another key, unsigned (`alg: none`) or otherwise altered is refused, as on AWS.
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

TOKEN_PATH = "/moto-api/textclf/github-oidc/token"
JWKS_PATH = "/moto-api/textclf/github-oidc/jwks"
KEY_ID = "localcloud-github-1"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SigningKey:
    """An issuer's RSA key: signs tokens RS256, publishes itself as a JWKS, checks signatures."""

    def __init__(self, kid: str = KEY_ID, bits: int = 2048) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=bits)

    def sign(self, claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        header = header or {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()

        def as_b64(number: int) -> str:
            return b64url(number.to_bytes((number.bit_length() + 7) // 8, "big"))

        key = {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid}
        return {"keys": [{**key, "n": as_b64(numbers.n), "e": as_b64(numbers.e)}]}

    def verify(self, token: str) -> None:
        """Raises ValueError unless `token` is RS256-signed with this key."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        parts = token.split(".")
        if len(parts) != 3:
            raise ValueError("the web identity token is not a signed JWT")
        try:
            header = json.loads(_unb64url(parts[0]))
            signature = _unb64url(parts[2])
        except ValueError:
            raise ValueError("the web identity token is not a signed JWT") from None
        if not isinstance(header, dict) or header.get("alg") != "RS256" or header.get("kid") != self.kid:
            raise ValueError("the web identity token is not signed with a key of the identity provider")
        signed = f"{parts[0]}.{parts[1]}".encode()
        try:
            self.key.public_key().verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise ValueError(
                "the web identity token's signature does not verify with the provider's key"
            ) from None


_lock = threading.Lock()
_issuer: SigningKey | None = None


def issuer() -> SigningKey:
    """This process's issuer key (made on first use, never written down)."""
    global _issuer
    with _lock:
        if _issuer is None:
            _issuer = SigningKey()
        return _issuer


def verify(token: str) -> None:
    issuer().verify(token)


def install() -> None:
    from moto.moto_api._internal import urls as moto_api_urls

    moto_api_urls.url_paths["{0}" + TOKEN_PATH] = _token
    moto_api_urls.url_paths["{0}" + JWKS_PATH] = _jwks


def _token(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    try:
        claims = json.loads(request.data or b"")
        if not isinstance(claims, dict):
            raise ValueError("POST the job's claims as a JSON object")
    except ValueError as error:
        return 400, {"Content-Type": "application/json"}, json.dumps({"error": str(error)})
    return 200, {"Content-Type": "application/json"}, json.dumps({"value": issuer().sign(claims)})


def _jwks(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    return 200, {"Content-Type": "application/json"}, json.dumps(issuer().jwks())

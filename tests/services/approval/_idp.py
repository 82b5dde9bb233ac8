"""A fake OIDC identity provider (outside our system): its keys, its JWKS, its tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://idp.example.test/realms/agentdeck"
AUDIENCE = "agentdeck-approval"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwk(key: PrivateKey, kid: str) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "use": "sig"}


class Idp:
    """Signs approver tokens with an RSA and an EC key and publishes both in a JWKS."""

    def __init__(self, directory: Path) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.keys: dict[str, PrivateKey] = {"rsa-1": self.rsa, "ec-1": self.ec}
        self.jwks_file = directory / "jwks.json"
        self.jwks_file.write_text(json.dumps(self.jwks()), encoding="utf-8")
        self.fetches = 0

    def jwks(self) -> dict[str, Any]:
        """The public half of every key, as the provider publishes it."""
        return {"keys": [_jwk(key, kid) for kid, key in self.keys.items()]}

    def rotate_in(self, kid: str) -> PrivateKey:
        """Publish a new RSA key ``kid`` (the file keeps the old set)."""
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self.keys[kid]

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """Valid claims of alice, support lead of acme, unless overridden (None drops one)."""
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "alice",
            "iat": now,
            "exp": now + 300,
            "roles": ["support-lead"],
            "tenants": ["acme"],
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(
        self, *, kid: str = "rsa-1", key: PrivateKey | None = None, alg: str = "", **claims: Any
    ) -> str:
        """A token signed by key ``kid`` (or by ``key``, claiming to be ``kid``)."""
        signing = key or self.keys[kid]
        alg = alg or ("RS256" if isinstance(signing, rsa.RSAPrivateKey) else "ES256")
        return jwt.encode(self.claims(**claims), signing, algorithm=alg, headers={"kid": kid})

    def unsigned_token(self, **claims: Any) -> str:
        """The same claims with ``alg: none`` and no signature."""
        header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": "rsa-1"}).encode())
        return f"{header}.{_b64(json.dumps(self.claims(**claims)).encode())}."

    def hmac_with_public_key(self, **claims: Any) -> str:
        """``alg: HS256`` keyed with the RSA public key's PEM: the key-confusion attack."""
        pem = self.rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
        body = _b64(json.dumps(self.claims(**claims)).encode())
        signature = hmac.new(pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
        return f"{header}.{body}.{_b64(signature)}"

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Approval settings that trust this provider through its JWKS file."""
        return {
            "oidc_issuer": ISSUER,
            "oidc_audience": AUDIENCE,
            "oidc_jwks_file": str(self.jwks_file),
            **overrides,
        }

    @contextmanager
    def serving(self) -> Iterator[str]:
        """Serve the JWKS over HTTP on loopback; yields its URL and counts fetches."""
        idp = self

        class Jwks(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                idp.fetches += 1
                body = json.dumps(idp.jwks()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_port}/certs"
        finally:
            server.shutdown()
            server.server_close()

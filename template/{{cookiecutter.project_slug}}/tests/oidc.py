"""A real OpenID Connect issuer on 127.0.0.1 for the tests: its discovery document and JWKS over
HTTP (the app fetches them as it would from a real issuer), and tokens signed with its keys."""

from __future__ import annotations

import http.server
import json
import threading
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

AUDIENCE = "{{ cookiecutter.project_slug }}"
ALL_SCOPES = "items:write exports:write"


class LocalIssuer:
    def __init__(self) -> None:
        self.private_keys: dict[str, Any] = {}
        self.published: list[str] = []
        self.jwks_fetches = 0
        self.add_key("rsa-1", rsa.generate_private_key(public_exponent=65537, key_size=2048))
        self.add_key("ec-1", ec.generate_private_key(ec.SECP256R1()))
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks.json"}
                elif self.path == "/jwks.json":
                    issuer.jwks_fetches += 1
                    body = {"keys": [issuer.public_jwk(kid) for kid in issuer.published]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # A short poll interval: close() (shutdown) waits for the next poll, 0.5 s by default.
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def add_key(self, kid: str, private_key: Any, *, publish: bool = True) -> None:
        self.private_keys[kid] = private_key
        if publish:
            self.published.append(kid)

    def public_jwk(self, kid: str) -> dict[str, Any]:
        public = self.private_keys[kid].public_key()
        algorithm = RSAAlgorithm if kid.startswith("rsa") else ECAlgorithm
        jwk: dict[str, Any] = algorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": kid, "use": "sig", "alg": "RS256" if kid.startswith("rsa") else "ES256"}

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {"iss": self.url, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 3600, "scope": ALL_SCOPES}
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def token(self, kid: str = "rsa-1", *, headers: dict[str, Any] | None = None, **claims: Any) -> str:
        algorithm = "RS256" if kid.startswith("rsa") else "ES256"
        key, header = self.private_keys[kid], {"kid": kid, **(headers or {})}
        return jwt.encode(self.claims(**claims), key, algorithm=algorithm, headers=header)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def new_kid() -> str:
    return f"rsa-{uuid.uuid4().hex[:8]}"

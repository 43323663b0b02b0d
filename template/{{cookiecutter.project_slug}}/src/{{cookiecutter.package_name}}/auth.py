"""Bearer-token authentication against an OpenID Connect issuer.

`@require_auth("items:write")` on a view: the request must carry `Authorization: Bearer <JWT>`,
signed by one of the issuer's keys, for this service (audience), not expired, with that scope in
its space-separated `scope` claim. Missing or invalid token: 401 with `WWW-Authenticate: Bearer`;
valid token without the scope: 403. The claims are in `g.auth_claims` for the view.

Configured by FLASK_OIDC_ISSUER (e.g. https://login.example.com/realms/main) and
FLASK_OIDC_AUDIENCE; production refuses to start without them, and an http:// issuer is accepted
only on loopback. The signing keys come from the issuer's discovery document
(/.well-known/openid-configuration -> jwks_uri), cached per worker, fetched again for a key id
not seen yet (key rotation) at most once per JWKS_REFETCH_SECONDS, each fetch bounded by
FETCH_TIMEOUT_SECONDS. Only RS256 and ES256 are accepted: never `none`, never an HMAC algorithm
(whose "secret" would be the issuer's public key). PyJWT does the cryptography.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from types import MappingProxyType
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import jwt
from flask import Flask, current_app, g, request
from werkzeug.exceptions import HTTPException

from . import errors
from .config import ConfigError

ALGORITHMS = ("RS256", "ES256")
KEY_TYPES = MappingProxyType({"RS256": "RSA", "ES256": "EC"})
LEEWAY_SECONDS = 30
"""Clock skew allowed on exp, nbf and iat."""
JWKS_REFETCH_SECONDS = 30.0
"""At most one fetch of the keys per this many seconds for unknown key ids (tokens with made-up
`kid`s cannot make the service hammer its issuer)."""
JWKS_MAX_AGE_SECONDS = 3600.0
FETCH_TIMEOUT_SECONDS = 3.0
MAX_DOCUMENT_BYTES = 256 * 1024
MAX_TOKEN_BYTES = 8 * 1024

View = TypeVar("View", bound=Callable[..., Any])


class IssuerUnavailable(Exception):
    """The issuer's discovery document or keys could not be fetched (a 503: errors.py)."""


def check_issuer(issuer: str) -> None:
    """ConfigError unless issuer is an https URL, or http on a loopback address."""
    parts = urlsplit(issuer)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and (host == "localhost" or _is_loopback(host)):
        return
    raise ConfigError(f"OIDC_ISSUER {issuer!r} must be an https:// URL (http:// only on loopback)")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """The issuer's documents are fetched from exactly the URLs named, never a redirect target."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def fetch_json(url: str) -> dict[str, Any]:
    """A JSON object from url, in FETCH_TIMEOUT_SECONDS and MAX_DOCUMENT_BYTES; IssuerUnavailable otherwise."""
    check_issuer(url)  # the same rule for every URL fetched: https, or http on loopback
    opener = urllib.request.build_opener(NoRedirects)
    try:
        with opener.open(url, timeout=FETCH_TIMEOUT_SECONDS) as response:
            body = response.read(MAX_DOCUMENT_BYTES + 1)
    except (OSError, urllib.error.URLError, ValueError) as error:
        raise IssuerUnavailable(f"{url}: {error}") from None
    if len(body) > MAX_DOCUMENT_BYTES:
        raise IssuerUnavailable(f"{url}: larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        document = json.loads(body)
    except ValueError:
        raise IssuerUnavailable(f"{url}: not JSON") from None
    if not isinstance(document, dict):
        raise IssuerUnavailable(f"{url}: not a JSON object")
    return document


class Issuer:
    """One issuer's signing keys for one worker process: fetched on first use, kept for
    JWKS_MAX_AGE_SECONDS, fetched again early for an unknown key id, rate-limited."""

    def __init__(self, issuer: str, audience: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        check_issuer(issuer)
        self.clock = clock
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.keys: dict[str, jwt.PyJWK] = {}
        self.fetched_at: float | None = None
        self.attempted_at: float | None = None
        self.lock = threading.Lock()

    def key(self, kid: str) -> jwt.PyJWK | None:
        """The signing key called kid, fetching the keys again when allowed."""
        with self.lock:
            now = self.clock()
            stale = self.fetched_at is None or now - self.fetched_at > JWKS_MAX_AGE_SECONDS
            may_retry = self.attempted_at is None or now - self.attempted_at >= JWKS_REFETCH_SECONDS
            if (stale or kid not in self.keys) and may_retry:
                self.attempted_at = now
                self.keys = self.fetch_keys()
                self.fetched_at = now
            elif stale and not self.keys:
                raise IssuerUnavailable(f"{self.issuer}: no keys yet; the last fetch failed")
            return self.keys.get(kid)

    def fetch_keys(self) -> dict[str, jwt.PyJWK]:
        discovery = fetch_json(f"{self.issuer}/.well-known/openid-configuration")
        if str(discovery.get("issuer", "")).rstrip("/") != self.issuer:
            raise IssuerUnavailable(f"{self.issuer}: the discovery document names another issuer")
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise IssuerUnavailable(f"{self.issuer}: the discovery document has no jwks_uri")
        keys: dict[str, jwt.PyJWK] = {}
        for entry in fetch_json(jwks_uri).get("keys", []):
            if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str) or entry.get("use", "sig") != "sig":
                continue
            try:
                keys[entry["kid"]] = jwt.PyJWK(entry)
            except jwt.PyJWTError:  # a key type or curve PyJWT does not support: not ours to use
                continue
        return keys

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims; jwt.InvalidTokenError for any token this service must refuse."""
        if len(token) > MAX_TOKEN_BYTES:
            raise jwt.InvalidTokenError("token too long")
        header = jwt.get_unverified_header(token)
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ALGORITHMS:
            raise jwt.InvalidAlgorithmError(f"algorithm {algorithm!r} is not accepted")
        if not isinstance(kid, str):
            raise jwt.InvalidTokenError("no key id")
        key = self.key(kid)
        if key is None:
            raise jwt.InvalidTokenError("unknown key id")
        if key.key_type != KEY_TYPES[algorithm] or (key.algorithm_name not in (algorithm, None)):
            raise jwt.InvalidAlgorithmError("the key is not for this algorithm")
        return jwt.decode(
            token,
            key.key,
            algorithms=[algorithm],
            audience=self.audience,
            issuer=self.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )


class BearerChallenge(HTTPException):
    """A 401 or 403 with the RFC 6750 challenge in WWW-Authenticate (errors.py keeps the header)."""

    def __init__(self, code: int, message: str, challenge: str) -> None:
        super().__init__(description=message)
        self.code = code
        self.challenge = challenge

    def get_headers(self, environ: Any = None, scope: Any = None) -> list[tuple[str, str]]:
        return [*super().get_headers(environ, scope), ("WWW-Authenticate", self.challenge)]


def authenticate(scope: str | None) -> dict[str, Any]:
    """The verified claims of the request's bearer token, or a 401/403 raised."""
    issuer: Issuer | None = current_app.extensions.get("oidc")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if issuer is None or scheme.lower() != "bearer" or not token.strip():
        raise BearerChallenge(401, "a bearer token is required", 'Bearer realm="api"')
    try:
        claims = issuer.verify(token.strip())
    except jwt.InvalidTokenError as error:
        current_app.logger.info("bearer token refused: %s", error)
        raise BearerChallenge(401, "the bearer token is invalid", 'Bearer realm="api", error="invalid_token"') from None
    granted = claims.get("scope", "")
    if scope is not None and (not isinstance(granted, str) or scope not in granted.split()):
        challenge = f'Bearer realm="api", error="insufficient_scope", scope="{scope}"'
        raise BearerChallenge(403, f"the token lacks the {scope} scope", challenge)
    return claims


def require_auth(scope: str | None = None) -> Callable[[View], View]:
    """The decorated view runs only for a valid bearer token (with scope, when given)."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            g.auth_claims = authenticate(scope)
            return view(*args, **kwargs)

        return cast(View, guarded)

    return decorate


def init_app(app: Flask) -> None:
    """The issuer from OIDC_ISSUER / OIDC_AUDIENCE (none configured: every protected view is a
    401, and a warning says so); the bearer scheme in openapi.json."""
    app.config["SECURITY_SCHEMES"] = {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
    issuer, audience = app.config.get("OIDC_ISSUER"), app.config.get("OIDC_AUDIENCE")
    if issuer and audience:
        app.extensions["oidc"] = Issuer(str(issuer), str(audience))
    else:
        app.logger.warning("no OIDC issuer (FLASK_OIDC_ISSUER, FLASK_OIDC_AUDIENCE): protected routes answer 401")
    app.register_error_handler(IssuerUnavailable, errors.handle_unavailable)

"""Bearer-token authentication against an OpenID Connect issuer.

`@require_auth("items:write")` on a view: the request must carry `Authorization: Bearer <JWT>`,
signed by one of the issuer's keys, for this service (audience), not expired, with that scope in
its space-separated `scope` claim. Missing or invalid token: 401 with `WWW-Authenticate: Bearer`;
valid token without the scope: 403. The claims are in `g.auth_claims` for the view.

Configured by FLASK_OIDC_ISSUER (e.g. https://login.example.com/realms/main) and
FLASK_OIDC_AUDIENCE; production refuses to start without them, and an http:// issuer is accepted
only on loopback. PyJWT does the rest: its PyJWKClient fetches the keys named by the issuer's
discovery document (/.well-known/openid-configuration -> jwks_uri) without following redirects,
each fetch bounded by FETCH_TIMEOUT_SECONDS, keeps them per worker for JWKS_MAX_AGE_SECONDS, and
fetches them again for a key id it has not seen (key rotation) at most once per
JWKS_REFETCH_SECONDS, so tokens with made-up `kid`s cannot make the service hammer its issuer.
Only RS256 and ES256 are accepted, each only with a key of its own type: never `none`, never an
HMAC algorithm (whose "secret" would be the issuer's public key). An issuer that cannot be reached
is a 503.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import jwt
from flask import Flask, current_app, g, request
from werkzeug.exceptions import HTTPException

from . import errors
from .config import ConfigError

ALGORITHMS = ("RS256", "ES256")
LEEWAY_SECONDS = 30
"""Clock skew allowed on exp, nbf and iat."""
JWKS_MAX_AGE_SECONDS = 3600
JWKS_REFETCH_SECONDS = 30
FETCH_TIMEOUT_SECONDS = 3

View = TypeVar("View", bound=Callable[..., Any])


def check_issuer(url: str) -> None:
    """ConfigError unless url is https, or http on loopback (the issuer, and the keys it names)."""
    parts = urlsplit(url)
    loopback = parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1", "::1")
    if not parts.hostname or not (parts.scheme == "https" or loopback):
        raise ConfigError(f"OIDC issuer {url!r} must be an https:// URL (http:// only on loopback): FLASK_OIDC_ISSUER")


class Issuer:
    """One issuer's signing keys for one worker process, found on first use."""

    def __init__(self, issuer: str, audience: str) -> None:
        check_issuer(issuer)
        self.issuer = issuer  # as the tokens' iss claim names it (a trailing slash included)
        self.audience = audience
        self.keys: jwt.PyJWKClient | None = None

    def jwks(self) -> jwt.PyJWKClient:
        """The issuer's keys, from the jwks_uri of its discovery document (fetched the way PyJWT
        fetches keys: no redirects, bounded by the timeout)."""
        if self.keys is None:
            url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
            discovery = jwt.PyJWKClient(url, cache_jwk_set=False, timeout=FETCH_TIMEOUT_SECONDS).fetch_data()
            check_issuer(str(discovery.get("jwks_uri", "")))  # the keys come over https too
            self.keys = jwt.PyJWKClient(
                discovery["jwks_uri"],
                lifespan=JWKS_MAX_AGE_SECONDS,
                timeout=FETCH_TIMEOUT_SECONDS,
                cooldown_duration=JWKS_REFETCH_SECONDS,
            )
        return self.keys

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims; jwt.PyJWTError for any token this service must refuse."""
        key = self.jwks().get_signing_key_from_jwt(token)
        return jwt.decode(
            token,
            key,  # a PyJWK: the token's alg must be the key's own algorithm, and in ALGORITHMS
            algorithms=ALGORITHMS,
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
    except jwt.PyJWKClientConnectionError:
        raise  # the issuer is unreachable: a 503 (init_app)
    except jwt.PyJWTError as error:
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
    app.register_error_handler(jwt.PyJWKClientConnectionError, errors.handle_unavailable)

"""Bearer tokens against a real local OIDC issuer (tests/oidc.py): what is accepted, what is
refused and how, key rotation, the refetch rate limit, and the issuer being down."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, g
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }} import auth, create_app
from {{ cookiecutter.package_name }}.auth import require_auth
from {{ cookiecutter.package_name }}.config import ConfigError

from tests.oidc import AUDIENCE, LocalIssuer, new_kid


@pytest.fixture
def protected(make_app: Callable[..., Flask]) -> Flask:
    app = make_app()

    @app.post("/protected")
    @require_auth("items:write")
    def protected_view() -> dict[str, Any]:
        return {"sub": g.auth_claims["sub"]}

    return app


def anonymous(app: Flask) -> FlaskClient:
    """A client without the suite's default bearer token (tests/fixtures_auth.py)."""
    client = app.test_client()
    client.environ_base.pop("HTTP_AUTHORIZATION", None)
    return client


def call(app: Flask, token: str | None, *, scheme: str = "Bearer") -> Any:
    headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    return anonymous(app).post("/protected", headers=headers)


def unsigned(claims: dict[str, Any], header: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


def test_a_valid_token_is_accepted(protected: Flask, oidc_issuer: LocalIssuer) -> None:
    for kid in ("rsa-1", "ec-1"):
        response = call(protected, oidc_issuer.token(kid))
        assert response.status_code == 200, response.get_json()
        assert response.get_json() == {"sub": "user-1"}


def test_no_token_is_401_with_a_bearer_challenge(protected: Flask) -> None:
    for response in (call(protected, None), call(protected, "abc", scheme="Basic"), call(protected, "")):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.get_json()["error"]["code"] == 401


def hmac_signed(claims: dict[str, Any], secret: bytes) -> str:
    signing_input = unsigned(claims, {"alg": "HS256", "kid": "rsa-1"}).rstrip(".")
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def bad_tokens(issuer: LocalIssuer) -> dict[str, str]:
    public_pem = (
        issuer.private_keys["rsa-1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "expired": issuer.token(exp=1_000_000_000, iat=999_999_000),
        "wrong audience": issuer.token(aud="another-service"),
        "wrong issuer": issuer.token(iss="https://evil.example"),
        "no subject": issuer.token(sub=None),
        "bad signature": jwt.encode(issuer.claims(), impostor, algorithm="RS256", headers={"kid": "rsa-1"}),
        "alg none": unsigned(issuer.claims(), {"alg": "none", "kid": "rsa-1"}),
        # HS256 "signed" with the issuer's public key: the classic algorithm confusion.
        "hs256 with the public key": hmac_signed(issuer.claims(), public_pem),
        "rs256 header on the ec key": unsigned(issuer.claims(), {"alg": "RS256", "kid": "ec-1"}) + "sig",
        "garbage": "not.a.token",
        "huge": "a" * 10_000,
    }


def test_invalid_tokens_are_401(protected: Flask, oidc_issuer: LocalIssuer) -> None:
    for name, token in bad_tokens(oidc_issuer).items():
        response = call(protected, token)
        assert response.status_code == 401, name
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"], name


def test_a_missing_scope_is_403(protected: Flask, oidc_issuer: LocalIssuer) -> None:
    for scope in ("items:read", "", "items:writer"):
        response = call(protected, oidc_issuer.token(scope=scope))
        assert response.status_code == 403, scope
        assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
        assert 'scope="items:write"' in response.headers["WWW-Authenticate"]


def test_a_new_key_is_fetched_once_and_unknown_keys_are_rate_limited(
    protected: Flask, oidc_issuer: LocalIssuer
) -> None:
    assert call(protected, oidc_issuer.token()).status_code == 200  # keys fetched for this app
    fetched = oidc_issuer.jwks_fetches
    rotated = new_kid()
    oidc_issuer.add_key(rotated, rsa.generate_private_key(public_exponent=65537, key_size=2048))
    # Within JWKS_REFETCH_SECONDS of the last fetch, unknown key ids are refused without a fetch:
    # made-up ones, and a new one alike.
    for _ in range(5):
        assert call(protected, oidc_issuer.token(rotated, headers={"kid": new_kid()})).status_code == 401
    assert call(protected, oidc_issuer.token(rotated)).status_code == 401
    assert oidc_issuer.jwks_fetches == fetched
    # Once that time has passed (here: shortened to none), an unknown key id fetches the keys again.
    keys = protected.extensions["oidc"].jwks()
    assert keys.cooldown_duration == auth.JWKS_REFETCH_SECONDS
    keys.cooldown_duration = 0
    assert call(protected, oidc_issuer.token(rotated)).status_code == 200
    assert oidc_issuer.jwks_fetches == fetched + 1


def test_an_issuer_named_with_a_trailing_slash(make_app: Callable[..., Flask], oidc_issuer: LocalIssuer) -> None:
    """Some issuers (Auth0's) end their name in "/": tokens name it so, and it is matched as is."""
    app = make_app(OIDC_ISSUER=f"{oidc_issuer.url}/")

    @app.post("/protected")
    @require_auth()
    def protected_view() -> dict[str, Any]:
        return {}

    assert call(app, oidc_issuer.token(iss=f"{oidc_issuer.url}/")).status_code == 200
    assert call(app, oidc_issuer.token()).status_code == 401  # another issuer's name


def test_an_unreachable_issuer_is_503(make_app: Callable[..., Flask], oidc_issuer: LocalIssuer) -> None:
    app = make_app(OIDC_ISSUER="http://127.0.0.1:9")  # the discard port: nothing listens

    @app.post("/protected")
    @require_auth()
    def protected_view() -> dict[str, Any]:
        return {}

    response = call(app, oidc_issuer.token(iss="http://127.0.0.1:9"))
    assert response.status_code == 503
    assert response.headers["Retry-After"]


@pytest.mark.parametrize(
    ("issuer", "accepted"),
    [("https://login.example.com", True), ("http://127.0.0.1:8080", True), ("http://localhost", True),
     ("http://login.example.com", False), ("ftp://login.example.com", False), ("https://", False)],
)  # fmt: skip
def test_an_http_issuer_only_on_loopback(issuer: str, accepted: bool) -> None:
    if accepted:
        auth.check_issuer(issuer)
    else:
        with pytest.raises(ConfigError):
            auth.check_issuer(issuer)


def test_production_refuses_to_start_without_issuer_and_audience(tmp_path: Path) -> None:
    settings = {"SECRET_KEY": "x7Kp2vQ9mZ4rT8wL1nB6yH3jD5fG0sA2", "OIDC_AUDIENCE": AUDIENCE}
    with pytest.raises(ConfigError, match="FLASK_OIDC_ISSUER"):
        create_app(settings, env="production")
{%- if cookiecutter.database != "none" %}


def test_writing_items_needs_the_items_write_scope(make_app: Callable[..., Flask], oidc_issuer: LocalIssuer) -> None:
    client = anonymous(make_app())
    assert client.post("/items", json={"name": "a"}).status_code == 401
    token = oidc_issuer.token(scope="items:read")
    assert client.post("/items", json={"name": "a"}, headers={"Authorization": f"Bearer {token}"}).status_code == 403
    token = oidc_issuer.token(scope="items:write")
    assert client.post("/items", json={"name": "a"}, headers={"Authorization": f"Bearer {token}"}).status_code == 201
    assert client.get("/items").status_code == 200  # reading needs no token
{%- endif %}

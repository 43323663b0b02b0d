from __future__ import annotations

import os
import secrets
import subprocess
import sys
from typing import Any

import pytest

from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.config import MAX_CONTENT_LENGTH, ConfigError

STRONG_KEY = secrets.token_hex(32)


def production(**overrides: Any) -> Any:
    return create_app({"SECRET_KEY": STRONG_KEY, **overrides}, env="production")


def test_development_tier() -> None:
    app = create_app(env="development")
    assert app.debug
    assert app.config["SECRET_KEY"]


def test_testing_tier() -> None:
    app = create_app(env="testing")
    assert app.testing
    assert not app.debug


def test_production_tier_is_secure() -> None:
    app = production()
    assert not app.debug and not app.testing
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["MAX_CONTENT_LENGTH"] == MAX_CONTENT_LENGTH


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"SECRET_KEY": "a" * 64}, "SECRET_KEY"),
        ({"SECRET_KEY": "change-me-to-64-hex-characters-change-me-to-64-hex"}, "SECRET_KEY"),
        ({"DEBUG": True}, "DEBUG"),
        ({"TESTING": True}, "TESTING"),
        ({"SESSION_COOKIE_SECURE": False}, "Secure"),
        ({"SESSION_COOKIE_HTTPONLY": False}, "HttpOnly"),
        ({"SESSION_COOKIE_SAMESITE": None}, "SAMESITE"),
    ],
    ids=[
        "no-key",
        "short-key",
        "low-entropy-key",
        "placeholder-key",
        "debug",
        "testing",
        "insecure-cookie",
        "script-cookie",
        "samesite",
    ],
)
def test_production_refuses_unsafe_settings(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        production(**overrides)


def test_app_env_picks_the_tier(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "testing")
    assert create_app().testing
    monkeypatch.setenv("APP_ENV", "staging")
    with pytest.raises(ConfigError, match="APP_ENV"):
        create_app()


def test_prefixed_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASK_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("FLASK_MAX_CONTENT_LENGTH", "1024")
    app = create_app(env="testing")
    assert app.config["LOG_LEVEL"] == "WARNING"
    assert app.config["MAX_CONTENT_LENGTH"] == 1024


def test_production_trusts_exactly_one_proxy_hop() -> None:
    app = production()

    @app.get("/whoami")
    def whoami() -> dict[str, str]:
        from flask import request

        return {"addr": str(request.remote_addr), "scheme": request.scheme}

    headers = {"X-Forwarded-For": "203.0.113.9, 198.51.100.7", "X-Forwarded-Proto": "https"}
    body = app.test_client().get("/whoami", headers=headers).get_json()
    assert body == {"addr": "198.51.100.7", "scheme": "https"}


def test_wsgi_without_secret_key_fails_with_one_line() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FLASK_", "APP_ENV"))}
    result = subprocess.run(
        [sys.executable, "-c", "import {{ cookiecutter.package_name }}.wsgi"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: SECRET_KEY is missing or weak")
    assert len(result.stderr.strip().splitlines()) == 1

from __future__ import annotations

import os
import runpy
import secrets
import subprocess
import sys
from typing import Any

import pytest

from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.config import MAX_CONTENT_LENGTH, ConfigError, weak_secret_key

STRONG_KEY = secrets.token_hex(32)


def production(**overrides: Any) -> Any:
{%- if cookiecutter.auth == "oidc" %}
    issuer = {"OIDC_ISSUER": "https://login.example.com", "OIDC_AUDIENCE": "{{ cookiecutter.project_slug }}"}
    return create_app({"SECRET_KEY": STRONG_KEY, **issuer, **overrides}, env="production")
{%- else %}
    return create_app({"SECRET_KEY": STRONG_KEY, **overrides}, env="production")
{%- endif %}


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
        ({"SECRET_KEY": "abcdefgh" * 4}, "SECRET_KEY"),
        ({"SECRET_KEY": "0123456789" * 4}, "SECRET_KEY"),
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
        "repeated-pattern-key",
        "repeated-digits-key",
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


@pytest.mark.parametrize("nbytes", [16, 32])
def test_random_keys_are_strong(nbytes: int) -> None:
    for _ in range(200):
        for key in (secrets.token_hex(nbytes), secrets.token_urlsafe(nbytes + nbytes // 2)):
            assert not weak_secret_key(key), key


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


def test_the_instance_folder_is_named_by_config(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """instance/ in the working directory, or FLASK_INSTANCE_PATH: never inside the virtualenv,
    wherever the package is installed."""
    monkeypatch.chdir(tmp_path)
    assert create_app(env="testing").instance_path == str(tmp_path / "instance")
    monkeypatch.setenv("FLASK_INSTANCE_PATH", str(tmp_path / "data"))
    assert create_app(env="testing").instance_path == str(tmp_path / "data")
{%- if cookiecutter.database == "sqlite" %}


def test_wsgi_with_an_instance_folder_it_cannot_create_fails_with_one_line(tmp_path: Any) -> None:
    """Status 4, as for a weak key: systemd (RestartPreventExitStatus=4) does not loop on it."""
    (tmp_path / "a-file").write_text("")
    settings = {"FLASK_SECRET_KEY": STRONG_KEY, "FLASK_INSTANCE_PATH": str(tmp_path / "a-file" / "instance")}
    # Everything else production asks for (an issuer where there is auth), so the folder is what is refused.
    settings.update(FLASK_OIDC_ISSUER="https://login.example.com", FLASK_OIDC_AUDIENCE="tests")
    result = import_wsgi(**settings)
    assert result.returncode == 4, result.stderr
    assert result.stderr.strip().startswith("error: cannot create the instance folder")
    assert len(result.stderr.strip().splitlines()) == 1
{%- endif %}


def test_production_refuses_other_hosts() -> None:
    response = production().test_client().get("/healthz", base_url="http://evil.example")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == 400


def import_wsgi(**environ: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FLASK_", "APP_ENV"))}
    return subprocess.run(
        [sys.executable, "-c", "import {{ cookiecutter.package_name }}.wsgi"],
        capture_output=True,
        text=True,
        env={**env, **environ},
        timeout=60,
    )


def test_wsgi_without_secret_key_fails_with_one_line() -> None:
    """Exit status 4 is Gunicorn's "app failed to load": the master stops instead of respawning.
    A process of its own, as Gunicorn's worker: the status it exits with and everything it
    writes to stderr up to its end (log handlers, threads at exit) are what is checked."""
    result = import_wsgi()
    assert result.returncode == 4
    assert result.stderr.strip().startswith("error: SECRET_KEY is missing or weak")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("tier", ["development", "testing"])
def test_wsgi_serves_production_only(
    tier: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same refusal path as the test above (ConfigError, one line, SystemExit(4)), reached
    before any app is made; run in this process (runpy executes wsgi.py afresh) instead of a
    new interpreter importing the package again, half a second per case."""
    monkeypatch.setenv("APP_ENV", tier)
    monkeypatch.setenv("FLASK_SECRET_KEY", STRONG_KEY)
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("{{ cookiecutter.package_name }}.wsgi")
    assert exited.value.code == 4
    stderr = capsys.readouterr().err
    assert stderr.strip().startswith(f"error: APP_ENV='{tier}' under a WSGI server")
    assert len(stderr.strip().splitlines()) == 1

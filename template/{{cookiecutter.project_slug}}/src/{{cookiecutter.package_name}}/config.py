"""Configuration tiers.

The APP_ENV environment variable picks the tier: development (the default for `flask run`),
testing, or production (the default in wsgi.py, which Gunicorn serves). Any setting can then be
overridden with a FLASK_-prefixed variable, e.g. FLASK_SECRET_KEY or FLASK_LOG_LEVEL
(Flask's `from_prefixed_env`, values parsed as JSON when they can be).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

CONFIG_ENV_VAR = "APP_ENV"
MIN_SECRET_KEY_LENGTH = 32
MAX_CONTENT_LENGTH = 10 * 1024 * 1024
"""10 MiB; deploy/nginx sets client_max_body_size to the same value."""


class ConfigError(RuntimeError):
    """Raised by create_app when the production settings are unsafe."""


class Config:
    """Settings shared by every tier."""

    ENV_NAME = "base"
    SECRET_KEY: str | None = None
    MAX_CONTENT_LENGTH = MAX_CONTENT_LENGTH
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PROXY_FIX_HOPS = 0
    LOG_LEVEL = "INFO"
    LOG_FORMAT = "{{ cookiecutter.log_format }}"
{%- if cookiecutter.database != "none" %}
    SQLALCHEMY_DATABASE_URI: str | None = None
{%- if cookiecutter.database == "postgresql" %}
    DEFAULT_DATABASE_URL = "postgresql+psycopg://{{ cookiecutter.package_name }}@127.0.0.1:5432/{{ cookiecutter.package_name }}"
{%- endif %}
    # Read-only so no code can change the shared class attribute at run time.
    SQLALCHEMY_ENGINE_OPTIONS: Mapping[str, Any] = MappingProxyType({"pool_pre_ping": True})
{%- endif %}
{%- if cookiecutter.task_queue != "none" %}
    REDIS_URL = "redis://127.0.0.1:6379/0"
    TASK_QUEUE_NAME = "{{ cookiecutter.package_name }}"
{%- endif %}
{%- if cookiecutter.task_queue == "celery" %}
    CELERY_EAGER = False
{%- endif %}
{%- if cookiecutter.task_queue == "rq" %}
    RQ_ASYNC = True
    EXPORT_JOB_TIMEOUT = 600
{%- endif %}


class DevelopmentConfig(Config):
    """`flask run` on a laptop: debug on, a throwaway key made at start-up."""

    ENV_NAME = "development"
    DEBUG = True
    SECRET_KEY = secrets.token_hex(32)
    LOG_LEVEL = "DEBUG"


class TestingConfig(Config):
    """The test suite: TESTING on; real services only when DATABASE_URL / REDIS_URL are set."""

    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = secrets.token_hex(32)
{%- if cookiecutter.database != "none" %}
    SQLALCHEMY_DATABASE_URI = "sqlite://"
{%- endif %}


class ProductionConfig(Config):
    """Behind Nginx: secure cookies, one trusted proxy hop, the key from the environment."""

    ENV_NAME = "production"
    DEBUG = False
    TESTING = False
    SESSION_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    PROXY_FIX_HOPS = 1


TIERS: Mapping[str, type[Config]] = MappingProxyType(
    {
        "development": DevelopmentConfig,
        "testing": TestingConfig,
        "production": ProductionConfig,
    }
)


def config_for(name: str) -> type[Config]:
    """The tier called name; ConfigError naming the valid ones otherwise."""
    try:
        return TIERS[name.strip().lower()]
    except KeyError:
        valid = ", ".join(TIERS)
        raise ConfigError(f"{CONFIG_ENV_VAR}={name!r} is not a config tier; use one of: {valid}") from None


def check_production_config(config: Mapping[str, Any]) -> None:
    """Raise ConfigError (one line: the problem and the fix) for unsafe production settings."""
    key = config.get("SECRET_KEY")
    weak = not isinstance(key, str) or len(key) < MIN_SECRET_KEY_LENGTH or len(set(key)) < 8
    if weak or "change-me" in str(key).lower():
        raise ConfigError(
            f"SECRET_KEY is missing or weak: set FLASK_SECRET_KEY to at least "
            f"{MIN_SECRET_KEY_LENGTH} random characters "
            "(python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    if config.get("DEBUG") or config.get("TESTING"):
        raise ConfigError("DEBUG or TESTING is on in production: unset FLASK_DEBUG / FLASK_TESTING")
    if not config.get("SESSION_COOKIE_SECURE") or not config.get("SESSION_COOKIE_HTTPONLY"):
        raise ConfigError(
            "session cookies are not Secure and HttpOnly in production: "
            "unset FLASK_SESSION_COOKIE_SECURE / FLASK_SESSION_COOKIE_HTTPONLY"
        )
    if config.get("SESSION_COOKIE_SAMESITE") not in ("Lax", "Strict"):
        raise ConfigError("SESSION_COOKIE_SAMESITE must be Lax or Strict in production")

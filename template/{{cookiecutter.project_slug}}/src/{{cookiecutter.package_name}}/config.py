"""Configuration tiers.

The APP_ENV environment variable picks the tier: development (the default for `flask run`),
testing, or production (the default in wsgi.py, which Gunicorn serves). Any setting can then be
overridden with a FLASK_-prefixed variable, e.g. FLASK_SECRET_KEY or FLASK_LOG_LEVEL
(Flask's `from_prefixed_env`, values parsed as JSON when they can be).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
{%- if cookiecutter.database != "none" or cookiecutter.task_queue == "celery" %}
from types import MappingProxyType
{%- endif %}
from typing import Any

import flask

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
    # The proxy's addresses (proxy.py): none, so no request's X-Forwarded-* headers are believed.
    FORWARDED_ALLOW_IPS = ""
    # Host header values the app accepts (None: any). Production names the public domain.
    TRUSTED_HOSTS: tuple[str, ...] | None = None
    LOG_LEVEL = "INFO"
    LOG_FORMAT = "{{ cookiecutter.log_format }}"
    # Records waiting for the log sink; past this they are dropped and counted, never queued
    # without bound.
    LOG_QUEUE_SIZE = 10_000
{%- if cookiecutter.auth == "oidc" %}
    # The OpenID Connect issuer whose tokens are accepted, and this service's audience (auth.py).
    OIDC_ISSUER: str | None = None
    OIDC_AUDIENCE: str | None = None
{%- endif %}
    # The interactive API docs (/docs): development only. /openapi.json is served in every tier.
    API_DOCS = False
    # The instance folder, for what the app writes at run time (a SQLite database): `instance/` in the
    # working directory (the project in development), or FLASK_INSTANCE_PATH, which the systemd
    # unit and the Docker image set. Never inside the virtualenv.
    INSTANCE_PATH = "instance"
{%- if cookiecutter.database != "none" %}
{%- if cookiecutter.database == "sqlite" %}
    # None: INSTANCE_PATH/{{ cookiecutter.package_name }}.sqlite (extensions.init_app).
    SQLALCHEMY_DATABASE_URI: str | None = None
{%- else %}
    SQLALCHEMY_DATABASE_URI: str | None = "postgresql+psycopg://{{ cookiecutter.package_name }}@127.0.0.1:5432/{{ cookiecutter.package_name }}"
    # Seconds to open a database connection (libpq connect_timeout), and seconds a statement may
    # run: PostgreSQL cancels it (statement_timeout), and the client gives up one second later
    # even when the server does not answer at all (deadlines.py).
    DATABASE_CONNECT_TIMEOUT = 3
    DATABASE_STATEMENT_TIMEOUT = 5
{%- endif %}
    # Read-only so no code can change the shared class attribute at run time.
    SQLALCHEMY_ENGINE_OPTIONS: Mapping[str, Any] = MappingProxyType({"pool_pre_ping": True})
{%- endif %}
{%- if cookiecutter.task_queue != "none" %}
    REDIS_URL = "redis://127.0.0.1:6379/0"
    # Seconds a Redis connect or command on the request path may take (a frozen Redis costs a
    # request thread no more); after a failure, /exports answers 503 at once for
    # BROKER_FAIL_FAST_SECONDS (exports.py).
    REDIS_TIMEOUT = 0.5
    BROKER_FAIL_FAST_SECONDS = 3.0
    TASK_QUEUE_NAME = "{{ cookiecutter.package_name }}"
{%- endif %}
{%- if cookiecutter.task_queue == "celery" %}
    # Celery settings by Celery's names, over those queue_celery.py derives from the above, e.g.
    # FLASK_CELERY='{"worker_concurrency": 4}'.
    CELERY: Mapping[str, Any] = MappingProxyType({})
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
    LOG_FORMAT = "text"  # readable in a terminal, whatever the deployed format
    API_DOCS = True


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
    # Nginx on this host; the FORWARDED_ALLOW_IPS environment variable (Gunicorn's too) overrides it.
    FORWARDED_ALLOW_IPS = "127.0.0.1,::1"
    # Requests naming another host get 400. More names (an internal address a load balancer
    # probes): FLASK_TRUSTED_HOSTS='["{{ cookiecutter.domain_name }}", "10.0.0.11"]'.
    TRUSTED_HOSTS = ("{{ cookiecutter.domain_name }}",)


def settings_for(env: str) -> flask.Config:
    """The settings of the tier called env: its defaults, then FLASK_* environment variables
    (Flask's `from_prefixed_env`), then the conventional variables below. create_app starts from
    these, and the entry points configure logging from them before any app exists."""
    tiers = {"development": DevelopmentConfig, "testing": TestingConfig, "production": ProductionConfig}
    if env not in tiers:
        raise ConfigError(f"{CONFIG_ENV_VAR}={env!r} is not a config tier; use one of: {', '.join(tiers)}")
    settings = flask.Config(os.getcwd())
    settings.from_object(tiers[env])
    settings.from_prefixed_env()
    if os.environ.get("FORWARDED_ALLOW_IPS"):
        settings["FORWARDED_ALLOW_IPS"] = os.environ["FORWARDED_ALLOW_IPS"]
{%- if cookiecutter.database != "none" %}
    if os.environ.get("DATABASE_URL"):
        settings["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
{%- endif %}
{%- if cookiecutter.task_queue != "none" %}
    if os.environ.get("REDIS_URL"):
        settings["REDIS_URL"] = os.environ["REDIS_URL"]
{%- endif %}
    return settings


def weak_secret_key(key: object) -> bool:
    """True for a missing, short, placeholder or patterned key.

    A random key of MIN_SECRET_KEY_LENGTH characters has nearly all its 3-character windows
    distinct; a repeated pattern (`abcdefgh` x 4) or a word list of few letters does not.
    """
    if not isinstance(key, str) or len(key) < MIN_SECRET_KEY_LENGTH or "change-me" in key.lower():
        return True
    windows = [key[i : i + 3] for i in range(len(key) - 2)]
    return len(set(key)) < 8 or len(set(windows)) < 0.8 * len(windows)


def check_production_config(config: Mapping[str, Any]) -> None:
    """Raise ConfigError (one line: the problem and the fix) for unsafe production settings."""
    key = config.get("SECRET_KEY")
    if weak_secret_key(key):
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
{%- if cookiecutter.auth == "oidc" %}
    if not config.get("OIDC_ISSUER") or not config.get("OIDC_AUDIENCE"):
        raise ConfigError(
            "no OIDC issuer or audience in production: set FLASK_OIDC_ISSUER (https://...) and FLASK_OIDC_AUDIENCE"
        )
{%- endif %}

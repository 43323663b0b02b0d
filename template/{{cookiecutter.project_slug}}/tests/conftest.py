{%- set db = cookiecutter.database != "none" -%}
{%- set tq = cookiecutter.task_queue -%}
"""Fixtures: a fresh app from the factory for every test, its test client and CLI runner.

Tests use these fixtures and never import from this file. With DATABASE_URL / REDIS_URL set,
the tests use those real services; without them, `make_config` picks the stand-ins.
"""

from __future__ import annotations

{% if tq != "none" -%}
import os
import uuid
{% elif db -%}
import os
{% endif -%}
{% if cookiecutter.tracing == "opentelemetry" and tq == "none" and not db -%}
import os
{% endif -%}
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from {{ cookiecutter.package_name }} import create_app
{%- if db %}
from {{ cookiecutter.package_name }}.extensions import db
{%- endif %}
{%- if cookiecutter.auth == "oidc" %}

from tests.oidc import AUDIENCE, LocalIssuer
{%- endif %}
{%- if db %}


@pytest.fixture
def real_database() -> bool:
    """True when DATABASE_URL names a real database (shared by every test of the run)."""
    return bool(os.environ.get("DATABASE_URL"))
{%- endif %}
{%- if tq != "none" %}


@pytest.fixture
def real_redis() -> bool:
    """True when REDIS_URL names a real Redis (then a real worker runs the jobs)."""
    return bool(os.environ.get("REDIS_URL"))
{%- endif %}


{% if cookiecutter.tracing == "opentelemetry" -%}
@pytest.fixture(scope="session", autouse=True)
def no_span_export() -> None:
    """Spans are made in the tests (tests/test_tracing.py reads them) but exported nowhere."""
    os.environ.setdefault("OTEL_TRACES_EXPORTER", "none")


{% endif -%}
{% if cookiecutter.auth == "oidc" -%}
def bearer_client(token: str) -> type[FlaskClient]:
    class BearerClient(FlaskClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    return BearerClient


@pytest.fixture(scope="session")
def oidc_issuer() -> Iterator[LocalIssuer]:
    """A real local OIDC issuer (HTTP on 127.0.0.1) every test app trusts."""
    issuer = LocalIssuer()
    yield issuer
    issuer.close()


{% endif -%}
@pytest.fixture
def make_config({% if cookiecutter.auth == "oidc" %}oidc_issuer: LocalIssuer{% endif %}) -> Callable[..., dict[str, Any]]:
    """make_config(directory, **overrides): test settings with isolated resources under
    directory, real services only when their URL is set."""

    def make(directory: Path, **overrides: Any) -> dict[str, Any]:
        directory.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {"TESTING": True}
{%- if cookiecutter.auth == "oidc" %}
        config.update(OIDC_ISSUER=oidc_issuer.url, OIDC_AUDIENCE=AUDIENCE)
{%- endif %}
{%- if db %}
        if not os.environ.get("DATABASE_URL"):  # a SQLite file of the test's own
            config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{directory / 'test.sqlite'}"
{%- endif %}
{%- if tq != "none" %}
        # A queue name of its own, so parallel test runs on one Redis never take each other's jobs.
        config["TASK_QUEUE_NAME"] = f"{{ cookiecutter.package_name }}-test-{uuid.uuid4().hex[:12]}"
        # Without Redis: {{ "Celery runs tasks eagerly with an in-memory broker and result store" if tq == "celery" else "RQ runs jobs synchronously (on fakeredis, see make_app)" }}.
        config["{{ "CELERY_EAGER" if tq == "celery" else "RQ_ASYNC" }}"] = {{ "not " if tq == "celery" else "bool(" }}os.environ.get("REDIS_URL"){{ "" if tq == "celery" else ")" }}
{%- endif %}
        config.update(overrides)
        return config

    return make


@pytest.fixture
{% if cookiecutter.auth == "oidc" -%}
def make_app(
    tmp_path: Path, make_config: Callable[..., dict[str, Any]], oidc_issuer: LocalIssuer
) -> Iterator[Callable[..., Flask]]:
{%- else -%}
def make_app(tmp_path: Path, make_config: Callable[..., dict[str, Any]]) -> Iterator[Callable[..., Flask]]:
{%- endif %}
    """make_app(name="app", **overrides): a testing-tier app in its own directory (database
    tables created when it has a database); every app made is released after the test."""
    apps: list[Flask] = []

    def make(name: str = "app", **overrides: Any) -> Flask:
        app = create_app(make_config(tmp_path / name, **overrides), env="testing")
{%- if cookiecutter.auth == "oidc" %}
        # Its test clients send a valid bearer token with every scope (tests/test_auth.py drops it).
        app.test_client_class = bearer_client(oidc_issuer.token())
{%- endif %}
{%- if tq == "rq" %}
        if not os.environ.get("REDIS_URL"):
            import fakeredis

            app.extensions["redis"] = fakeredis.FakeRedis()
{%- endif %}
{%- if db %}
        with app.app_context():
            db.create_all()
{%- endif %}
        apps.append(app)
        return app

    yield make
    for app in apps:
        release(app)


def release(app: Flask) -> None:
    """Release what the app holds{% if db %}: its tables and connections{% endif %}."""
{%- if db %}
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
{%- endif %}
{%- if tq == "rq" %}
    app.extensions["redis"].close()
{%- endif %}


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()

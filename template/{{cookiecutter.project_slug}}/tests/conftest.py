{%- set db = cookiecutter.database != "none" -%}
{%- set tq = cookiecutter.task_queue -%}
"""Fixtures: a fresh app from the factory for every test, its test client and CLI runner.

With DATABASE_URL / REDIS_URL set, the tests use those real services. Without them:
{%- if db %}
- the database is a SQLite file in the test's temporary directory;
{%- endif %}
{%- if tq == "celery" %}
- Celery runs tasks eagerly with an in-memory broker and result store;
{%- elif tq == "rq" %}
- RQ runs jobs synchronously on fakeredis;
{%- endif %}
{%- if not db and tq == "none" %}
- nothing external is used by this variant.
{%- endif %}
"""

from __future__ import annotations

{% if db or tq != "none" -%}
import os
{% endif -%}
{% if tq != "none" -%}
import uuid
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

MakeApp = Callable[..., Flask]
{%- if db %}
USING_REAL_DATABASE = bool(os.environ.get("DATABASE_URL"))
{%- endif %}
{%- if tq != "none" %}
USING_REAL_REDIS = bool(os.environ.get("REDIS_URL"))
{%- endif %}


def make_config(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """Test settings: isolated resources per test, real services only when their URL is set."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {"TESTING": True}
{%- if db %}
    if not USING_REAL_DATABASE:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'test.sqlite'}"
{%- endif %}
{%- if tq != "none" %}
    # A queue name of its own, so parallel test runs on one Redis never take each other's jobs.
    config["TASK_QUEUE_NAME"] = f"{{ cookiecutter.package_name }}-test-{uuid.uuid4().hex[:12]}"
{%- endif %}
{%- if tq == "celery" %}
    config["CELERY_EAGER"] = not USING_REAL_REDIS
{%- elif tq == "rq" %}
    config["RQ_ASYNC"] = USING_REAL_REDIS
{%- endif %}
    config.update(overrides)
    return config


def build_app(tmp_path: Path, **overrides: Any) -> Flask:
    """A testing-tier app{% if db %} with its tables created{% endif %}."""
    app = create_app(make_config(tmp_path, **overrides), env="testing")
{%- if tq == "rq" %}
    if not USING_REAL_REDIS:
        import fakeredis

        app.extensions["redis"] = fakeredis.FakeRedis()
{%- endif %}
{%- if db %}
    with app.app_context():
        db.create_all()
{%- endif %}
    return app


def teardown_app(app: Flask) -> None:
    """Release what the app holds{% if db %}: drop its tables and close the connections{% endif %}."""
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
def make_app(tmp_path: Path) -> Iterator[MakeApp]:
    """Build extra apps in a test (each in its own directory); all are torn down afterwards."""
    apps: list[Flask] = []

    def make(name: str = "app", **overrides: Any) -> Flask:
        apps.append(build_app(tmp_path / name, **overrides))
        return apps[-1]

    yield make
    for app in apps:
        teardown_app(app)


@pytest.fixture
def app(make_app: MakeApp) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()

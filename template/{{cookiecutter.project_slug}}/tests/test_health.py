{%- set db = cookiecutter.database != "none" -%}
{%- set tq = cookiecutter.task_queue != "none" -%}
from __future__ import annotations

import threading
from collections.abc import Callable
{%- if db %}
from pathlib import Path
from typing import Any
{%- endif %}

from flask import Flask
from flask.testing import FlaskClient
{% if db %}
from {{ cookiecutter.package_name }} import create_app
{%- endif %}
from {{ cookiecutter.package_name }}.health import Readiness


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_when_dependencies_are_up(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ok"
{%- set checks = (["database"] if db else []) + (["broker"] if tq else []) %}
    assert sorted(body["checks"]) == {{ checks | sort | tojson }}
{%- if db %}


def test_readyz_when_database_is_down(tmp_path: Path, make_config: Callable[..., dict[str, Any]]) -> None:
    missing = tmp_path / "missing-dir" / "db.sqlite"
    app = create_app(make_config(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{missing}"), env="testing")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == "down"


def test_readyz_when_the_schema_is_missing(tmp_path: Path, make_config: Callable[..., dict[str, Any]]) -> None:
    """A database without the tables (before `flask db upgrade`) is not ready."""
    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    app = create_app(make_config(tmp_path, SQLALCHEMY_DATABASE_URI=empty), env="testing")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == "down"
{%- endif %}
{%- if tq %}


def test_readyz_when_broker_is_down(make_app: Callable[..., Flask]) -> None:
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0", {% if cookiecutter.task_queue == "celery" %}CELERY_EAGER=False{% else %}RQ_ASYNC=True{% endif %})
{%- if cookiecutter.task_queue == "rq" %}
    from redis import Redis

    app.extensions["redis"].close()
    app.extensions["redis"] = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
{%- endif %}
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["broker"] == "down"
{%- endif %}


def test_readyz_has_its_own_deadline(make_app: Callable[..., Flask]) -> None:
    """A hung check answers 503 after READINESS_TIMEOUT; while it stays hung, later probes say
    503 without starting another check."""
    app = make_app(READINESS_TIMEOUT=0.2)
    release = threading.Event()
    calls: list[int] = []

    def hung() -> None:
        calls.append(1)
        release.wait(30)

    readiness = app.extensions["readiness"] = Readiness(app, {"database": hung})
    client = app.test_client()
    for _ in range(3):
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["checks"] == {"database": "down"}
    assert len(calls) == 1
    release.set()
    readiness.running["database"].result(timeout=10)
    assert client.get("/readyz").status_code == 200
    assert len(calls) == 2

{%- set db = cookiecutter.database != "none" -%}
{%- set tq = cookiecutter.task_queue != "none" -%}
from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
{%- if db %}
from pathlib import Path
from typing import Any
{%- endif %}

from flask import Flask
from flask.testing import FlaskClient
{% if db %}
from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.extensions import db
{%- endif %}
from {{ cookiecutter.package_name }}.health import add_check


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


def test_readyz_when_the_schema_is_missing(make_app: Callable[..., Flask]) -> None:
    """A database without the tables (before `flask db upgrade`) is not ready."""
    app = make_app()
    with app.app_context():
        db.drop_all()
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == "down"
{%- endif %}
{%- if tq %}


def test_readyz_when_broker_is_down(make_app: Callable[..., Flask]) -> None:
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0", {% if cookiecutter.task_queue == "celery" %}CELERY={}{% else %}RQ_ASYNC=True{% endif %})
{%- if cookiecutter.task_queue == "rq" %}
    from redis import Redis

    app.extensions["redis"].close()
    app.extensions["redis"] = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
{%- endif %}
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["broker"] == "down"
{%- endif %}


def test_overlapping_probes_see_healthy_dependencies(make_app: Callable[..., Flask]) -> None:
    """Load balancers and Kubernetes probe at the same time: 200 probes, 10 at once, against a
    dependency that takes a moment to answer are all ready."""
    app = make_app()
    add_check(app, "slow", lambda: time.sleep(0.02))

    def probe(_: int) -> int:
        return app.test_client().get("/readyz").status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(probe, range(200)))
    assert statuses == [200] * 200, f"{statuses.count(503)} of 200 probes said 503"

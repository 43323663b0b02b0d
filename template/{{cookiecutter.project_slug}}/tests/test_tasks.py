{%- set celery = cookiecutter.task_queue == "celery" -%}
from __future__ import annotations

{% if celery -%}
import json
{% endif -%}
import time
{% if celery -%}
import uuid
{% endif -%}
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.exports import ExportIn


@pytest.fixture
def worker(app: Flask, real_redis: bool) -> Iterator[Any]:
    """With a real Redis, a real worker consumes the test's own queue; otherwise jobs run
    in-process (tests/fixtures_task_queue.py)."""
    if not real_redis:
        yield None
        return
{%- if celery %}
    from celery.contrib.testing.worker import start_worker

    celery_app = app.extensions["celery"]
    with start_worker(celery_app, pool="solo", perform_ping_check=False, queues=[app.config["TASK_QUEUE_NAME"]]) as w:
        yield w
{%- else %}
    from rq import SimpleWorker

    from {{ cookiecutter.package_name }}.queue_rq import get_queue

    def drain() -> None:
        with app.app_context():
            SimpleWorker([get_queue(app)], connection=app.extensions["redis"]).work(burst=True)

    yield drain
{%- endif %}


def wait_for_result(client: FlaskClient, url: str, worker: Any) -> dict[str, Any]:
    """Poll the status endpoint until the job is done (the deadline only bounds a hang)."""
    deadline = time.monotonic() + 30
    while True:
{%- if not celery %}
        if callable(worker):
            worker()
{%- endif %}
        body: dict[str, Any] = client.get(url).get_json()
        if body["status"] in ("finished", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_export_is_enqueued_and_runs_off_the_request(client: FlaskClient, worker: Any) -> None:
{%- if cookiecutter.database != "none" %}
    for name in ("alpha", "beta"):
        assert client.post("/items", json={"name": name}).status_code == 201
{%- endif %}
    response = client.post("/exports", json={"rows": 10})
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "queued"
    assert response.headers["Location"] == body["status_url"] == f"/exports/{body['id']}"
    result = wait_for_result(client, body["status_url"], worker)
    assert result["status"] == "finished", result
{%- if cookiecutter.database != "none" %}
    assert result["result"]["rows"] == 2
    assert "alpha" in result["result"]["csv"]
{%- else %}
    assert result["result"]["rows"] == 10
{%- endif %}


@pytest.mark.parametrize(
    "payload", [{"rows": 0}, {"rows": "10"}, {"rows": True}, {"rows": 10**9}, {"rows": 2.5}, {"rows": 1, "x": 1}, [1]]
)
def test_export_validates_its_input(client: FlaskClient, payload: Any) -> None:
    response = client.post("/exports", json=payload)
    assert response.status_code == 422
    assert response.get_json()["error"]["detail"]["json"]


def test_export_takes_a_whole_number_written_as_a_float() -> None:
    """JSON Schema's integer (so the contract) includes 10.0; 2.5 and "10" stay refused (above)."""
    assert ExportIn().load({"rows": 10.0}) == {"rows": 10}


@pytest.mark.parametrize("job_id", ["no-such-job", "4f1b7a52-0c1e-4b5e-9a57-8d6c1f0e2b3a"])
def test_unknown_job_is_404(client: FlaskClient, job_id: str) -> None:
    response = client.get(f"/exports/{job_id}")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == 404


def test_export_with_the_broker_down_is_503(make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0", {% if celery %}CELERY={}{% else %}RQ_ASYNC=True{% endif %})
{%- if not celery %}
    from redis import Redis

    app.extensions["redis"].close()
    app.extensions["redis"] = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
{%- endif %}
    client = app.test_client()
    response = client.post("/exports", json={"rows": 1})
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.get_json()["error"]["code"] == 503
    # The next requests fail fast: the broker is not tried again for BROKER_FAIL_FAST_SECONDS
    # (a frozen Redis would cost each of them REDIS_TIMEOUT).
    tried: list[int] = []
    monkeypatch.setattr("{{ cookiecutter.package_name }}.exports.enqueue_export", tried.append)
    assert client.post("/exports", json={"rows": 1}).status_code == 503
    assert client.get("/exports/0b5e7b3c-0000-4000-8000-000000000000").status_code == 503
    assert tried == []
{%- if celery %}


def test_a_failed_export_keeps_its_error_in_the_worker_log(app: Flask, client: FlaskClient) -> None:
    from celery import states

    job_id = str(uuid.uuid4())
    error = RuntimeError("SELECT secret FROM users WHERE password = 'hunter2'")
    app.extensions["celery"].backend.store_result(job_id, error, states.FAILURE)
    body = client.get(f"/exports/{job_id}").get_json()
    assert body["status"] == "failed"
    assert "secret" not in json.dumps(body) and "hunter2" not in json.dumps(body)
{%- endif %}

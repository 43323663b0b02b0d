"""Fixtures of the task queue: a queue of each test's own; without Redis (REDIS_URL), the queue's
in-process stand-in (Celery's eager mode, or RQ's synchronous mode on fakeredis)."""

from __future__ import annotations

import os
import uuid
{%- if cookiecutter.task_queue == "celery" %}
from types import MappingProxyType
{%- endif %}

import pytest
{%- if cookiecutter.task_queue == "rq" %}
from fakeredis import FakeRedis
{%- endif %}

{% if cookiecutter.task_queue == "rq" -%}
from {{ cookiecutter.package_name }} import queue_rq
{% endif -%}
from {{ cookiecutter.package_name }}.config import TestingConfig


@pytest.fixture
def real_redis() -> bool:
    """True when REDIS_URL names a real Redis (then a real worker runs the jobs)."""
    return bool(os.environ.get("REDIS_URL"))


@pytest.fixture(autouse=True)
def test_queue(real_redis: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A queue name of the test's own, so parallel runs on one Redis never take each other's jobs."""
    name = f"{{ cookiecutter.package_name }}-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setattr(TestingConfig, "TASK_QUEUE_NAME", name)
{%- if cookiecutter.task_queue == "celery" %}
    if not real_redis:  # tasks run in the request, results kept in memory: the enqueue path end to end
        eager = {
            "broker_url": "memory://",
            "result_backend": "cache+memory://",
            "task_always_eager": True,
            "task_store_eager_result": True,
            "task_eager_propagates": True,
        }
        monkeypatch.setattr(TestingConfig, "CELERY", MappingProxyType(eager))
{%- else %}
    monkeypatch.setattr(TestingConfig, "RQ_ASYNC", real_redis)
    if not real_redis:
        monkeypatch.setattr(queue_rq, "Redis", FakeRedis)
{%- endif %}

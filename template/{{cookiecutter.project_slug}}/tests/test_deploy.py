"""The deployment files say what deploy/README.md promises (the real tools run in `make check-deploy`)."""

from __future__ import annotations

import re
import runpy
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.config import MAX_CONTENT_LENGTH

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def gunicorn_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in ("WEB_CONCURRENCY", "GUNICORN_BIND"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))


def test_gunicorn_binds_a_unix_socket_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = gunicorn_settings(monkeypatch)
    assert settings["bind"].startswith("unix:")
    assert settings["worker_class"] == "{{ cookiecutter.worker_class }}"


@pytest.mark.parametrize(("cpus", "workers"), [(1, 3), (2, 5), (4, 9), (8, 12), (64, 12)])
def test_default_workers_are_2_cpu_plus_1_capped(monkeypatch: pytest.MonkeyPatch, cpus: int, workers: int) -> None:
    assert gunicorn_settings(monkeypatch)["default_workers"](cpus) == workers


def test_web_concurrency_overrides_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    assert gunicorn_settings(monkeypatch, WEB_CONCURRENCY="3")["workers"] == 3


def test_nginx_body_limit_matches_the_app() -> None:
    site = (DEPLOY / "nginx" / "{{ cookiecutter.project_slug }}.conf").read_text()
    (limit,) = re.findall(r"client_max_body_size (\d+)m;", site)
    assert int(limit) * 1024 * 1024 == MAX_CONTENT_LENGTH

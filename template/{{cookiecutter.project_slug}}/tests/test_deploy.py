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
    for name in ("WEB_CONCURRENCY", "GUNICORN_BIND", "PROMETHEUS_MULTIPROC_DIR", "RUNTIME_DIRECTORY"):
        monkeypatch.setenv(name, "")  # recorded, so what the config file sets is undone after the test
        monkeypatch.delenv(name)
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


{% if cookiecutter.metrics == "prometheus" -%}
def test_metrics_files_live_in_the_service_runtime_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = gunicorn_settings(monkeypatch, RUNTIME_DIRECTORY="/run/{{ cookiecutter.project_slug }}")
    assert settings["os"].environ["PROMETHEUS_MULTIPROC_DIR"] == "/run/{{ cookiecutter.project_slug }}/{{ cookiecutter.project_slug }}-metrics"


def test_metrics_are_refused_on_the_public_server() -> None:
    site = (DEPLOY / "nginx" / "{{ cookiecutter.project_slug }}.conf").read_text()
    public, scraper = site.split("listen 127.0.0.1:9464;")
    assert "location = /metrics {\n        default_type application/json;\n        return 404" in public
    assert "allow 127.0.0.1;\n        deny all;" in scraper


{% endif -%}
def test_nginx_body_limit_matches_the_app() -> None:
    site = (DEPLOY / "nginx" / "{{ cookiecutter.project_slug }}.conf").read_text()
    (limit,) = re.findall(r"client_max_body_size (\d+)m;", site)
    assert int(limit) * 1024 * 1024 == MAX_CONTENT_LENGTH

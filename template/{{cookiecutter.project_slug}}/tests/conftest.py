"""Fixtures: a fresh app from the factory for every test, its test client and CLI runner.

Tests use these fixtures and never import from this file. Each option of the project adds its
own in tests/fixtures_<option>.py (loaded below). With DATABASE_URL / REDIS_URL set, the tests
use those real services; without them, stand-ins.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from {{ cookiecutter.package_name }} import create_app

pytest_plugins = sorted(f"tests.{path.stem}" for path in Path(__file__).parent.glob("fixtures_*.py"))


@pytest.fixture
def make_config() -> Callable[..., dict[str, Any]]:
    """make_config(directory, **overrides): test settings with isolated resources under
    directory, real services only when their URL is set."""

    def make(directory: Path, **overrides: Any) -> dict[str, Any]:
        directory.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {"TESTING": True}
        if not os.environ.get("DATABASE_URL"):  # a database of the test's own, if the project has one
            config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{directory / 'test.sqlite'}"
        return {**config, **overrides}

    return make


@pytest.fixture
def make_app(tmp_path: Path, make_config: Callable[..., dict[str, Any]]) -> Iterator[Callable[..., Flask]]:
    """make_app(name="app", **overrides): a testing-tier app in its own directory (with its
    tables, when it has a database); every app made is released after the test."""
    apps: list[Flask] = []

    def make(name: str = "app", **overrides: Any) -> Flask:
        app = create_app(make_config(tmp_path / name, **overrides), env="testing")
        if "sqlalchemy" in app.extensions:
            with app.app_context():
                app.extensions["sqlalchemy"].create_all()
        apps.append(app)
        return app

    yield make
    for app in apps:
        if "sqlalchemy" in app.extensions:
            with app.app_context():
                database = app.extensions["sqlalchemy"]
                database.session.remove()
                database.drop_all()
                database.engine.dispose()
        if "redis" in app.extensions:
            app.extensions["redis"].close()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()

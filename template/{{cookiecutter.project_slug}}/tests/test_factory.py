{%- set db = cookiecutter.database != "none" -%}
from __future__ import annotations

import collections
import importlib
import pkgutil
from collections.abc import Callable

from apiflask import APIFlask
from flask import Flask
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSessionInterface

import {{ cookiecutter.package_name }}
from {{ cookiecutter.package_name }} import create_app


def test_factory_honours_config_mapping() -> None:
    app = create_app({"TESTING": True, "LOG_LEVEL": "WARNING"}, env="testing")
    assert app.testing
    assert app.config["LOG_LEVEL"] == "WARNING"


def test_each_call_builds_a_new_app(make_app: Callable[..., Flask]) -> None:
    first, second = make_app("a"), make_app("b")
    assert first is not second
    assert first.config is not second.config
    assert first.extensions is not second.extensions


def test_no_module_level_app() -> None:
    """Only wsgi.py holds an app; importing the package or its modules creates none."""
    names = [info.name for info in pkgutil.iter_modules({{ cookiecutter.package_name }}.__path__) if info.name != "wsgi"]
    assert "errors" in names
    for name in ["", *(f".{module}" for module in names)]:
        module = importlib.import_module(f"{{ cookiecutter.package_name }}{name}")
        assert not [value for value in vars(module).values() if isinstance(value, Flask)], module


def test_no_module_level_mutable_state() -> None:
    """No module or class of the package holds a mutable container: per-request data lives in
    flask.g, the session or a service; shared constants are tuples or MappingProxyType."""
    mutable = (dict, list, set, bytearray, collections.deque)
    found = []
    for info in pkgutil.iter_modules({{ cookiecutter.package_name }}.__path__):
        if info.name == "wsgi":
            continue
        module = importlib.import_module(f"{{ cookiecutter.package_name }}.{info.name}")
        classes = [v for v in vars(module).values() if isinstance(v, type) and v.__module__ == module.__name__]
        for owner in (module, *classes):
            names = [name for name, value in vars(owner).items() if isinstance(value, mutable)]
            found += [f"{module.__name__}.{name}" for name in names if not name.startswith("_")]
    assert found == []


def test_two_apps_do_not_share_state(make_app: Callable[..., Flask]) -> None:
    first, second = make_app("a"), make_app("b")
    first.config["MARKER"] = "first"
    assert "MARKER" not in second.config
{%- if db %}
    if first.config["SQLALCHEMY_DATABASE_URI"] != second.config["SQLALCHEMY_DATABASE_URI"]:
        assert first.test_client().post("/items", json={"name": "only-in-first"}).status_code == 201
        assert second.test_client().get("/items").get_json()["items"] == []
{%- endif %}
    with first.test_client() as client_a, second.test_client() as client_b:
        a = client_a.get("/healthz", headers={"X-Request-ID": "request-a"})
        b = client_b.get("/healthz")
        assert a.headers["X-Request-ID"] == "request-a"
        assert b.headers["X-Request-ID"] != "request-a"


def test_the_app_is_flask_as_shipped(app: Flask) -> None:
    """No subclass of the app, its sessions or its JSON: Flask's own behaviour, as documented."""
    assert type(app) is APIFlask
    assert type(app.session_interface) is SecureCookieSessionInterface
    assert type(app.json) is DefaultJSONProvider


def test_package_exposes_only_the_factory() -> None:
    assert callable({{ cookiecutter.package_name }}.create_app)

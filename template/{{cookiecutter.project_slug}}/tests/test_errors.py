from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from apiflask import Schema
from apiflask.fields import String
from flask import Flask, request
from flask.testing import FlaskClient


def test_404_is_json(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["error"]["code"] == 404


def test_405_is_json(client: FlaskClient) -> None:
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.get_json()["error"]["name"] == "Method Not Allowed"


def test_413_is_json(make_app: Callable[..., Flask]) -> None:
    app = make_app(MAX_CONTENT_LENGTH=16)

    @app.post("/upload")
    def upload() -> dict[str, int]:
        return {"size": len(request.get_data())}

    assert app.test_client().post("/upload", data=b"x" * 16).status_code == 200
    response = app.test_client().post("/upload", data=b"x" * 1024)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == 413


def test_500_hides_the_exception(make_app: Callable[..., Flask]) -> None:
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "secret internals" not in body
    assert "Traceback" not in body
    assert response.get_json()["error"]["code"] == 500


class Named(Schema):
    name = String()


HOSTILE_JSON = {
    "array nested 100,000 deep": "[" * 100_000 + "]" * 100_000,
    "object nested 50,000 deep": '{"a":' * 50_000 + "1" + "}" * 50_000,
    "integer of 5,000 digits": '{"name": ' + "7" * 5_000 + "}",
    "not JSON": '{"name": "x"',
    "not UTF-8": b'{"name": "\xff"}',
}


@pytest.mark.parametrize("body", HOSTILE_JSON.values(), ids=list(HOSTILE_JSON))
def test_hostile_json_bodies_are_bad_requests(make_app: Callable[..., Flask], body: str | bytes) -> None:
    """Every route that reads a JSON body answers 400: the app's own, one added here with apiflask's
    input, and a plain Flask view that calls request.get_json() itself."""
    app = make_app()

    @app.post("/echo")
    @app.input(Named, location="json")
    def echo(json_data: dict[str, str]) -> dict[str, str]:
        return json_data

    @app.post("/plain")
    def plain() -> dict[str, Any]:
        return {"body": request.get_json()}

    routes = [path for path, operations in app.spec["paths"].items() if "requestBody" in operations.get("post", {})]
    assert "/echo" in routes
    routes.append("/plain")
    client = app.test_client()
    for path in routes:
        response = client.post(path, data=body, content_type="application/json")
        assert response.status_code == 400, (path, response.get_data(as_text=True)[:300])
        assert response.get_json()["error"]["code"] == 400

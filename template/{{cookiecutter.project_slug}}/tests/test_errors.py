from __future__ import annotations

from collections.abc import Callable

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


def test_deeply_nested_json_is_a_bad_request(make_app: Callable[..., Flask]) -> None:
    app = make_app()

    @app.post("/lenient")
    def lenient() -> dict[str, bool]:
        return {"parsed": request.get_json(silent=True) is not None}

    @app.post("/strict")
    def strict() -> dict[str, bool]:
        return {"parsed": request.get_json() is not None}

    body = "[" * 100_000 + "]" * 100_000
    client = app.test_client()
    lenient_response = client.post("/lenient", data=body, content_type="application/json")
    assert lenient_response.status_code == 200
    assert lenient_response.get_json() == {"parsed": False}
    strict_response = client.post("/strict", data=body, content_type="application/json")
    assert strict_response.status_code == 400
    assert strict_response.get_json()["error"]["code"] == 400

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }} import create_app


def test_create_list_get(client: FlaskClient) -> None:
    created = client.post("/items", json={"name": "first"})
    assert created.status_code == 201
    item = created.get_json()
    assert item["name"] == "first"
    assert created.headers["Location"] == f"/items/{item['id']}"
    assert client.get(f"/items/{item['id']}").get_json() == item
    listed = client.get("/items").get_json()
    assert [i["name"] for i in listed["items"]] == ["first"]


def test_list_is_paginated(client: FlaskClient) -> None:
    for n in range(5):
        assert client.post("/items", json={"name": f"item-{n}"}).status_code == 201
    page = client.get("/items?limit=2&offset=1").get_json()
    assert [i["name"] for i in page["items"]] == ["item-1", "item-2"]
    assert page["limit"] == 2


def test_validation_and_conflicts(client: FlaskClient) -> None:
    for body in [{}, {"name": "  "}, {"name": "x" * 201}, {"name": 7}, {"name": "ok", "extra": 1}, ["name"]]:
        response = client.post("/items", json=body)
        assert response.status_code == 422, body
        assert response.get_json()["error"]["detail"]["json"], body
    assert client.post("/items", data="not json", content_type="application/json").status_code == 400
    assert client.post("/items", json={"name": "  padded  "}).get_json()["name"] == "padded"
    assert client.post("/items", json={"name": "dup"}).status_code == 201
    conflict = client.post("/items", json={"name": "dup"})
    assert conflict.status_code == 409
    assert "already exists" in conflict.get_json()["error"]["message"]


@pytest.mark.parametrize(
    "query",
    ["limit=-1", "limit=0", "limit=201", "limit=ten", "limit=1e3", "limit=2.5", "offset=-1",
     "offset=99999999999999999999", "offset=2000000"],
)  # fmt: skip
def test_bad_page_arguments_are_422(client: FlaskClient, query: str) -> None:
    response = client.get(f"/items?{query}")
    assert response.status_code == 422
    assert set(response.get_json()["error"]["detail"]["query"]) <= {"limit", "offset"}


@pytest.mark.parametrize("path", ["/items/2147483648", "/items/99999999999999999999999", "/items/-1"])
def test_ids_out_of_range_are_404(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.is_json


@pytest.mark.parametrize(
    "name",
    ["nul\x00byte", "\ud800", "tab\there", "new\nline", "ends\n", "\u202e", "zero\u200bwidth", "\u00a0", "\u2028",
     "\u3000"],
)  # fmt: skip
def test_invisible_characters_are_refused(client: FlaskClient, name: str) -> None:
    response = client.post("/items", json={"name": name})
    assert response.status_code == 422
    assert "visible" in response.get_json()["error"]["detail"]["json"]["name"][0]


def test_missing_item_is_404(client: FlaskClient) -> None:
    response = client.get("/items/999999")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == 404


def test_migrations_match_the_models(
    tmp_path: Path, make_config: Callable[..., dict[str, Any]], real_database: bool
) -> None:
    """`flask db upgrade` on an empty database yields exactly the models' schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from flask_migrate import downgrade, upgrade

    from {{ cookiecutter.package_name }}.extensions import db

    app = create_app(make_config(tmp_path / "migrations"), env="testing")
    with app.app_context():
        if real_database:  # the shared database may hold tables from other tests
            db.drop_all()
        upgrade()
        try:
            with db.engine.connect() as connection:
                diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
            assert diff == []
        finally:
            downgrade(revision="base")
            db.engine.dispose()

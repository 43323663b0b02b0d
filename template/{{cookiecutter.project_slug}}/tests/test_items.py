from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from {{ cookiecutter.package_name }} import create_app

from .conftest import USING_REAL_DATABASE, make_config


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
    assert client.post("/items", json={}).status_code == 400
    assert client.post("/items", json={"name": "  "}).status_code == 400
    assert client.post("/items", data="not json").status_code == 400
    assert client.post("/items", json={"name": "x" * 201}).status_code == 400
    assert client.post("/items", json={"name": "dup"}).status_code == 201
    conflict = client.post("/items", json={"name": "dup"})
    assert conflict.status_code == 409
    assert "already exists" in conflict.get_json()["error"]["message"]


def test_missing_item_is_404(client: FlaskClient) -> None:
    response = client.get("/items/999999")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == 404


def test_migrations_match_the_models(tmp_path: Path) -> None:
    """`flask db upgrade` on an empty database yields exactly the models' schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from flask_migrate import downgrade, upgrade

    from {{ cookiecutter.package_name }}.extensions import db

    app = create_app(make_config(tmp_path / "migrations"), env="testing")
    with app.app_context():
        if USING_REAL_DATABASE:  # the shared database may hold tables from other tests
            db.drop_all()
        upgrade()
        try:
            with db.engine.connect() as connection:
                diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
            assert diff == []
        finally:
            downgrade(revision="base")
            db.engine.dispose()

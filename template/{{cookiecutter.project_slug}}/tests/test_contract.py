"""The API contract. /openapi.json is served in every tier (the docs UI in development only),
and schemathesis generates requests from it, valid and invalid, against the app in-process:
every response must be one the contract documents (status, headers, body schema), never a 5xx.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from {{ cookiecutter.package_name }} import create_app


def test_openapi_json_describes_the_api(client: FlaskClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert {"/healthz", "/readyz"} <= set(spec["paths"])
    assert "/openapi.json" not in spec["paths"]


@pytest.mark.parametrize(("env", "status"), [("development", 200), ("testing", 404)])
def test_docs_ui_only_in_development(
    make_config: Callable[..., dict[str, Any]], tmp_path: Any, env: str, status: int
) -> None:
    app = create_app(make_config(tmp_path / env), env=env)
    assert app.test_client().get("/docs").status_code == status


# Names (items.py) have `format: printable`: what str.isprintable accepts, for schemathesis to send.
schemathesis.openapi.format("printable", st.text(st.characters(exclude_categories=["C", "Z"]), min_size=1))

# The contract is read from an app made once at import (openapi.json depends only on the code);
# each generated request goes to the test's own fresh app. (schemathesis.pytest.from_fixture,
# the per-test loader, relies on a pytest internal that pytest 9.2 removed.)
contract = schemathesis.openapi.from_dict(create_app(env="testing").spec)


def test_openapi_json_is_a_valid_openapi_document() -> None:
    """Checked against the OpenAPI meta-schema of its version (schemathesis, jsonschema-rs): a
    route documented by hand (doc(responses=...)) can break the document the generated requests
    are read from."""
    contract.validate()


@contract.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_api_honours_its_contract(case: Any, app: Flask) -> None:
    case.call_and_validate(app=app)

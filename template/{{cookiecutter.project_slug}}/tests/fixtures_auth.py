"""Fixtures of the auth option: a local OIDC issuer that the testing tier trusts, and test
clients that send one of its tokens (tests/test_auth.py drops it where it checks refusals)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.config import TestingConfig

from tests.oidc import AUDIENCE, LocalIssuer


@pytest.fixture(scope="session")
def oidc_issuer() -> Iterator[LocalIssuer]:
    """A real local OIDC issuer (HTTP on 127.0.0.1)."""
    issuer = LocalIssuer()
    yield issuer
    issuer.close()


@pytest.fixture(autouse=True)
def trusted_issuer(oidc_issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps of the testing tier trust the local issuer; their test clients send a valid bearer
    token with every scope."""
    monkeypatch.setattr(TestingConfig, "OIDC_ISSUER", oidc_issuer.url)
    monkeypatch.setattr(TestingConfig, "OIDC_AUDIENCE", AUDIENCE)
    token = oidc_issuer.token()

    class BearerClient(FlaskClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    monkeypatch.setattr(Flask, "test_client_class", BearerClient)

"""Fixtures of the database option (the tables of each test app are made by conftest.make_app)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def real_database() -> bool:
    """True when DATABASE_URL names a real database (shared by every test of the run)."""
    return bool(os.environ.get("DATABASE_URL"))

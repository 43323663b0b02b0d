"""Fixtures of the tracing option."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def no_span_export() -> None:
    """Spans are made in the tests (tests/test_tracing.py reads them) but exported nowhere."""
    os.environ.setdefault("OTEL_TRACES_EXPORTER", "none")

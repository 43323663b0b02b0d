"""Sentry: off without a DSN (one log line); with one, unhandled errors are sent with the release
and tier, and no personal data (cookies, credentials, client addresses)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sentry_sdk
from flask import Flask
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from {{ cookiecutter.package_name }} import project_version, sentry


class Captured(Transport):
    """Keeps what would be sent to Sentry."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        event = envelope.get_event()
        if event is not None:
            self.events.append(dict(event))


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Iterator[Captured]:
    transport = Captured()
    monkeypatch.setenv(sentry.DSN_ENV, "https://public@sentry.example.invalid/1")
    assert sentry.start({"ENV_NAME": "production"}, transport=transport)
    yield transport
    monkeypatch.delenv(sentry.DSN_ENV)
    sentry_sdk.init()  # off again for the rest of the run (no DSN)


def test_without_a_dsn_it_stays_off(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv(sentry.DSN_ENV, raising=False)
    with caplog.at_level(logging.INFO, logger=sentry.__name__):
        assert sentry.start({"ENV_NAME": "production"}) is False
    assert [record.getMessage() for record in caplog.records] == [
        "error tracking is off: set SENTRY_DSN to send errors to Sentry"
    ]
    assert not sentry_sdk.get_client().is_active()


def test_an_unhandled_error_is_sent_without_personal_data(captured: Captured, make_app: Callable[..., Flask]) -> None:
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("the export table is missing")

    # Made at run time: the event carries the source lines around the error, this test's included.
    cookie, token, address = secrets.token_hex(8), secrets.token_hex(8), f"203.0.113.{secrets.randbelow(200) + 10}"
    client = app.test_client()
    client.set_cookie("session", cookie)
    headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": address}
    assert client.get("/boom", headers=headers).status_code == 500
    assert client.get("/no-such-page").status_code == 404  # a client's mistake, not sent
    sentry_sdk.flush()

    (event,) = captured.events
    assert event["release"] == project_version()
    assert event["environment"] == "production"
    assert event["exception"]["values"][-1]["value"] == "the export table is missing"
    # What the event says about the request and its sender (the stack frames' local variables hold
    # this test's own, which are not request data).
    sent = repr({key: event.get(key) for key in ("request", "user", "contexts", "tags", "extra", "breadcrumbs")})
    for secret in (cookie, token, address):
        assert secret not in sent

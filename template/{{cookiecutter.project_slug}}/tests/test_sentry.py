"""Sentry: off without a DSN (one log line); with one, unhandled errors are sent with the release
and tier, and nothing the client sent: checked on what reaches a local stand-in for Sentry's
HTTP endpoint, as sentry-sdk's own transport sends it."""

from __future__ import annotations

import gzip
import http.server
import logging
import secrets
import threading
from collections.abc import Callable, Iterator

import pytest
import sentry_sdk
from flask import Flask, request

from {{ cookiecutter.package_name }} import project_version, sentry


class Envelopes(http.server.BaseHTTPRequestHandler):
    """Sentry's ingest endpoint, as far as a client sees it: keeps every envelope it is sent."""

    received: list[bytes]

    def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def envelopes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """Sentry started with a DSN naming a local endpoint; the envelopes it received."""
    received: list[bytes] = []
    handler = type("Handler", (Envelopes,), {"received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    monkeypatch.setenv(sentry.DSN_ENV, f"http://public@127.0.0.1:{server.server_address[1]}/1")
    try:
        assert sentry.start({"ENV_NAME": "production"})
        yield received
    finally:
        sentry_sdk.flush(timeout=5)
        sentry_sdk.init()  # off again for the rest of the run (no DSN)
        server.shutdown()
        server.server_close()


def test_without_a_dsn_it_stays_off(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv(sentry.DSN_ENV, raising=False)
    with caplog.at_level(logging.INFO, logger=sentry.__name__):
        assert sentry.start({"ENV_NAME": "production"}) is False
    assert [record.getMessage() for record in caplog.records] == [
        "error tracking is off: set SENTRY_DSN to send errors to Sentry"
    ]
    assert not sentry_sdk.get_client().is_active()


def test_an_error_is_sent_without_what_the_client_sent(envelopes: list[bytes], make_app: Callable[..., Flask]) -> None:
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.post("/boom")
    def boom() -> str:
        body = request.get_json()  # a local variable of the failing frame
        raise RuntimeError(f"the export table is missing ({len(body)} fields)")

    # Made at run time, so they can be found nowhere else (not in this file's source lines).
    password, key, cookie, token = (secrets.token_hex(8) for _ in range(4))
    client = app.test_client()
    client.set_cookie("session", cookie)
    response = client.post(
        f"/boom?api_key={key}",
        json={"password": password},
        headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": "203.0.113.77"},
    )
    assert response.status_code == 500
    assert client.get(f"/no-such-page?api_key={key}").status_code == 404  # a client's mistake, not sent
    sentry_sdk.flush(timeout=5)

    events = [envelope for envelope in envelopes if b'"type":"event"' in envelope]
    assert len(events) == 1, envelopes
    (event,) = events
    assert b"the export table is missing (1 fields)" in event
    assert f'"release":"{project_version()}"'.encode() in event
    assert b'"environment":"production"' in event
    assert b"/boom" in event  # the request line stays: method and path
    for secret in (password, key, cookie, token, "203.0.113.77"):
        assert secret.encode() not in b"".join(envelopes), secret

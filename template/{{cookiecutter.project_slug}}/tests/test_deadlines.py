"""The PostgreSQL deadlines (deadlines.py): the bounds every connection gets, the timer that
cuts off a statement the server never answers, and the failing fast after a failure."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from {{ cookiecutter.package_name }} import create_app, deadlines
from {{ cookiecutter.package_name }}.extensions import db

UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/nothing?sslmode=disable"


def test_a_statement_past_its_deadline_is_cut_off() -> None:
    """A server that never answers (the silent end of a socket pair): the socket is shut down at
    the deadline and the blocked read returns."""
    client, silent_server = socket.socketpair()
    client.settimeout(30)  # bounds a broken deadline only
    missed = threading.Event()
    with client, silent_server, deadlines.deadline(client.fileno(), 0.2, missed.set):
        assert client.recv(1) == b""  # returned because the socket was shut down
    assert missed.is_set()


def test_a_statement_that_ends_in_time_is_left_alone() -> None:
    client, server = socket.socketpair()
    missed = threading.Event()
    with client, server:
        with deadlines.deadline(client.fileno(), 0.3, missed.set):
            threading.Timer(0.05, server.sendall, args=(b"x",)).start()
            assert client.recv(1) == b"x"
        threading.Event().wait(0.5)  # past the deadline it had: nothing may fire now
        server.sendall(b"y")
        assert client.recv(1) == b"y"
    assert not missed.is_set()


def test_connections_have_the_bounds(
    tmp_path: Path, make_config: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every connection: libpq's connect_timeout and tcp_user_timeout, the server's
    statement_timeout, and the cursor that puts each statement under its deadline."""
    app = create_app(make_config(tmp_path, SQLALCHEMY_DATABASE_URI=UNREACHABLE), env="testing")
    made: list[dict[str, Any]] = []

    def refused(conninfo: str, **bounds: Any) -> None:
        made.append(bounds)
        raise psycopg.OperationalError("connection refused")

    monkeypatch.setattr(psycopg, "connect", refused)
    with app.app_context(), pytest.raises(OperationalError, match="refused"):
        db.session.execute(text("SELECT 1"))
    (bounds,) = made
    assert bounds["connect_timeout"] == 3 and bounds["options"] == "-c statement_timeout=5000"
    assert bounds["tcp_user_timeout"] == 6000 and issubclass(bounds["cursor_factory"], psycopg.Cursor)
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_pre_ping"] is True and options["pool_timeout"] > 0


def test_after_a_failure_the_next_calls_fail_fast(
    tmp_path: Path, make_config: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a failed connect the next requests get the same 503 at once, without trying the
    server (a frozen one would hold each of them for its own connect_timeout or deadline)."""
    monkeypatch.setattr(deadlines, "FAIL_FAST_SECONDS", 3600)
    app = create_app(make_config(tmp_path, SQLALCHEMY_DATABASE_URI=UNREACHABLE), env="testing")
    tries: list[str] = []

    def refused(conninfo: str, **bounds: Any) -> None:
        tries.append(conninfo)
        raise psycopg.OperationalError("connection refused")

    monkeypatch.setattr(psycopg, "connect", refused)
    client = app.test_client()
    failed, failed_fast = client.get("/items"), client.get("/items")
    assert failed.status_code == failed_fast.status_code == 503 and len(tries) == 1
    assert failed_fast.get_json() == failed.get_json() and failed_fast.headers["Retry-After"]


def test_then_one_call_at_a_time_tries_the_server(
    tmp_path: Path, make_config: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once FAIL_FAST_SECONDS have passed (none here), one call tries the server while the others
    still fail fast; a failed try lets the next call try, an answered one ends the failing fast."""
    monkeypatch.setattr(deadlines, "FAIL_FAST_SECONDS", 0)
    app = create_app(make_config(tmp_path, SQLALCHEMY_DATABASE_URI=UNREACHABLE), env="testing")
    connect = app.config["SQLALCHEMY_ENGINE_OPTIONS"]["creator"]
    tries: list[str] = []

    def refused(conninfo: str, **bounds: Any) -> None:
        tries.append(conninfo)
        raise psycopg.OperationalError("connection refused")

    def answered(conninfo: str, **bounds: Any) -> str:
        tries.append(conninfo)
        if len(tries) == 3:  # while this call tries, another fails fast
            with pytest.raises(psycopg.OperationalError, match="failing fast"):
                connect()
        elif len(tries) == 4:  # answered: calls reach the server side by side again
            assert connect() == "a connection"
        return "a connection"

    monkeypatch.setattr(psycopg, "connect", refused)
    for _ in range(2):  # the failure, then a failed try
        with pytest.raises(psycopg.OperationalError, match="refused"):
            connect()
    monkeypatch.setattr(psycopg, "connect", answered)
    assert connect() == "a connection"  # the try
    assert connect() == "a connection"
    assert tries == ["postgresql://nobody@127.0.0.1:1/nothing?sslmode=disable"] * 5


@pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="needs a real PostgreSQL (DATABASE_URL)")
def test_postgresql_cancels_a_slow_statement(make_app: Callable[..., Any]) -> None:
    """statement_timeout, set on each connection, reaches the server: it cancels the statement."""
    app = make_app(DATABASE_STATEMENT_TIMEOUT=0.2)
    with app.app_context(), pytest.raises(OperationalError, match="statement timeout"):
        db.session.execute(text("SELECT pg_sleep(5)"))

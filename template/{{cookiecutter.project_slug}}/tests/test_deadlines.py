"""The PostgreSQL deadlines (deadlines.py): the bounds every connection gets, and the timer that
cuts off a statement the server never answers."""

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

from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.deadlines import deadline
from {{ cookiecutter.package_name }}.extensions import db


def test_a_statement_past_its_deadline_is_cut_off() -> None:
    """A server that never answers (the silent end of a socket pair): the socket is shut down at
    the deadline and the blocked read returns."""
    client, silent_server = socket.socketpair()
    client.settimeout(30)  # bounds a broken deadline only
    with client, silent_server, deadline(client.fileno(), 0.2):
        assert client.recv(1) == b""  # returned because the socket was shut down


def test_a_statement_that_ends_in_time_is_left_alone() -> None:
    client, server = socket.socketpair()
    with client, server:
        with deadline(client.fileno(), 0.3):
            threading.Timer(0.05, server.sendall, args=(b"x",)).start()
            assert client.recv(1) == b"x"
        threading.Event().wait(0.5)  # past the deadline it had: nothing may fire now
        server.sendall(b"y")
        assert client.recv(1) == b"y"


def test_connections_have_the_bounds(
    tmp_path: Path, make_config: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every connection: libpq's connect_timeout and tcp_user_timeout, the server's
    statement_timeout, and the cursor that puts each statement under its deadline."""
    url = "postgresql+psycopg://nobody@127.0.0.1:1/nothing?sslmode=disable"
    app = create_app(make_config(tmp_path, SQLALCHEMY_DATABASE_URI=url), env="testing")
    made: list[dict[str, Any]] = []

    def refused(*args: Any, **bounds: Any) -> None:
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


@pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="needs a real PostgreSQL (DATABASE_URL)")
def test_postgresql_cancels_a_slow_statement(make_app: Callable[..., Any]) -> None:
    """statement_timeout, set on each connection, reaches the server: it cancels the statement."""
    app = make_app(DATABASE_STATEMENT_TIMEOUT=0.2)
    with app.app_context(), pytest.raises(OperationalError, match="statement timeout"):
        db.session.execute(text("SELECT pg_sleep(5)"))

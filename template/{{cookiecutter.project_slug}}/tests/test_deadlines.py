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
from {{ cookiecutter.package_name }}.deadlines import FAIL_FAST_SECONDS, DatabaseUnavailable, Watchdog
from {{ cookiecutter.package_name }}.extensions import db


def test_a_statement_past_its_deadline_is_cut_and_the_next_fails_fast() -> None:
    """A server that never answers (here: the silent end of a socket pair): the watchdog shuts the
    socket down at the deadline, the blocked read returns, and the next statement fails at once."""
    watchdog = Watchdog(0.2)
    client, silent_server = socket.socketpair()
    with client, silent_server:
        client.settimeout(30)  # bounds a broken watchdog only
        with pytest.raises(EOFError), watchdog.deadline(client.fileno()):
            if client.recv(1) == b"":  # returned because the watchdog shut the socket down
                raise EOFError
    with pytest.raises(DatabaseUnavailable), watchdog.deadline(client.fileno()):
        pass


def test_a_statement_that_ends_in_time_is_left_alone() -> None:
    watchdog = Watchdog(0.3)
    client, server = socket.socketpair()
    with client, server:
        with watchdog.deadline(client.fileno()):
            threading.Timer(0.05, server.sendall, args=(b"x",)).start()
            assert client.recv(1) == b"x"
        threading.Event().wait(0.5)  # past the deadline it had: nothing may fire now
        server.sendall(b"y")
        assert client.recv(1) == b"y"
    with watchdog.deadline(client.fileno()):
        pass


def test_after_a_miss_one_statement_at_a_time_tries_and_an_answer_closes_the_breaker() -> None:
    watchdog = Watchdog(5)
    watchdog.down_until = 1.0  # a miss, FAIL_FAST_SECONDS ago or more (monotonic time 1 s)
    others: list[BaseException] = []

    def other() -> None:
        try:
            with watchdog.deadline(-1):
                pass
        except DatabaseUnavailable as err:
            others.append(err)

    with watchdog.deadline(-1):  # this statement tries
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(timeout=10)
        assert len(others) == 1  # the others fail fast meanwhile
    assert watchdog.down_until == 0.0  # answered: closed for everyone
    other()
    assert len(others) == 1
    assert FAIL_FAST_SECONDS <= 2  # short: a worker serves again soon after the database is back


def test_connections_have_the_bounds(
    tmp_path: Path, make_config: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every connection: libpq's connect_timeout and tcp_user_timeout, the server's
    statement_timeout, the watchdog's cursor; a failed connect makes the next fail fast."""
    url = "postgresql+psycopg://nobody@127.0.0.1:1/nothing?sslmode=disable"
    app = create_app(make_config(tmp_path, SQLALCHEMY_DATABASE_URI=url), env="testing")
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_pre_ping"] is True and options["pool_timeout"] > 0
    made: list[tuple[str, dict[str, Any]]] = []

    def refused(conninfo: str, **bounds: Any) -> None:
        made.append((conninfo, bounds))
        raise psycopg.OperationalError("connection refused")

    monkeypatch.setattr(psycopg, "connect", refused)
    with pytest.raises(psycopg.OperationalError, match="refused"):
        options["creator"]()
    ((conninfo, bounds),) = made
    assert conninfo == "postgresql://nobody@127.0.0.1:1/nothing?sslmode=disable"
    assert bounds["connect_timeout"] == 3 and bounds["options"] == "-c statement_timeout=5000"
    assert bounds["tcp_user_timeout"] == 6000 and issubclass(bounds["cursor_factory"], psycopg.Cursor)
    with pytest.raises(DatabaseUnavailable):
        options["creator"]()
    assert len(made) == 1


@pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="needs a real PostgreSQL (DATABASE_URL)")
def test_postgresql_cancels_a_slow_statement(make_app: Callable[..., Any]) -> None:
    """statement_timeout, set on each connection, reaches the server: it cancels the statement."""
    app = make_app(DATABASE_STATEMENT_TIMEOUT=0.2)
    with app.app_context(), pytest.raises(OperationalError, match="statement timeout"):
        db.session.execute(text("SELECT pg_sleep(5)"))

"""Bounds on every PostgreSQL call, so a database that stops answering cannot hold the service's
threads.

libpq, PostgreSQL and SQLAlchemy bound almost everything: `connect_timeout` the connect,
`statement_timeout` a slow statement (the server cancels it), `tcp_user_timeout` a peer that
stops acknowledging (a host or network gone), `pool_timeout` the wait for a free connection and
`pool_pre_ping` a connection that died while idle. One case is left: a server process that is
frozen (SIGSTOP, a stalled VM) while its kernel still acknowledges every packet. Nothing then
cancels the statement and libpq waits for ever, so each statement (SQLAlchemy's and its
pre-ping's) runs with a timer that shuts its socket down GRACE_SECONDS after statement_timeout:
psycopg raises, and the request answers 503 (tests/test_deadlines.py; the frozen-database fault
test of the template's own suite).
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from flask import Flask
from sqlalchemy.engine import make_url

GRACE_SECONDS = 1.0
POOL_TIMEOUT = 5.0
"""Seconds a request waits for a free connection of the pool."""


@contextmanager
def deadline(fd: int, seconds: float) -> Iterator[None]:
    """Shut socket fd down if the statement on it is still running after seconds."""
    timer = threading.Timer(seconds, shut_down, [fd])
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def shut_down(fd: int) -> None:
    with suppress(OSError), socket.socket(fileno=os.dup(fd)) as sock:
        sock.shutdown(socket.SHUT_RDWR)


def init_app(app: Flask) -> None:
    """Before the engine exists: the bounds above on its connections, for a PostgreSQL URL (the
    tests run on SQLite unless DATABASE_URL names a server)."""
    if make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() != "postgresql":
        return
    statement = float(app.config["DATABASE_STATEMENT_TIMEOUT"])
    seconds = statement + GRACE_SECONDS

    class BoundedCursor(psycopg.Cursor[Any]):
        """psycopg's cursor, each statement under its deadline."""

        def execute(self, *args: Any, **kwargs: Any) -> BoundedCursor:
            with deadline(self.connection.fileno(), seconds):
                return super().execute(*args, **kwargs)

        def executemany(self, *args: Any, **kwargs: Any) -> None:
            with deadline(self.connection.fileno(), seconds):
                super().executemany(*args, **kwargs)

    connect_args = {
        "connect_timeout": max(1, round(app.config["DATABASE_CONNECT_TIMEOUT"])),
        "options": f"-c statement_timeout={round(statement * 1000)}",
        "tcp_user_timeout": round(seconds * 1000),
        "cursor_factory": BoundedCursor,
    }
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
        "pool_timeout": POOL_TIMEOUT,
        "connect_args": connect_args,
    }

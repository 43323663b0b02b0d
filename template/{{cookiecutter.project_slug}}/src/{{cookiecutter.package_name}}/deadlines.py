"""Bounds on every PostgreSQL call, so a database that stops answering cannot hold the service's
threads.

libpq, PostgreSQL and SQLAlchemy bound almost everything: `connect_timeout` the connect,
`statement_timeout` a slow statement (the server cancels it), `tcp_user_timeout` a peer that
stops acknowledging (a host or network gone), `pool_timeout` the wait for a free connection and
`pool_pre_ping` a connection that died while idle. One case is left: a server process that is
frozen (SIGSTOP, a stalled VM) while its kernel still acknowledges every packet. Nothing then
cancels the statement and libpq waits for ever, so each statement (SQLAlchemy's and its
pre-ping's) runs with a timer that shuts its socket down GRACE_SECONDS after statement_timeout:
psycopg raises, and the request answers 503.

Every other request thread would then sit out its own deadline, or connect_timeout, in turn,
and requests that need no database (/healthz) would queue behind them. So a missed deadline or a
failed connect makes statements and connects fail at once (psycopg's OperationalError: the same
503) for FAIL_FAST_SECONDS; then one call at a time tries the server, the others still failing
fast, until one is answered (tests/test_deadlines.py; the frozen-database fault test of the
template's own suite).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from flask import Flask
from sqlalchemy.engine import make_url

GRACE_SECONDS = 1.0
FAIL_FAST_SECONDS = 1.0
POOL_TIMEOUT = 5.0
"""Seconds a request waits for a free connection of the pool."""


@contextmanager
def deadline(fd: int, seconds: float, missed: Callable[[], None]) -> Iterator[None]:
    """If the statement on socket fd is still running after seconds: call missed, shut fd down."""
    timer = threading.Timer(seconds, shut_down, [fd, missed])
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def shut_down(fd: int, missed: Callable[[], None]) -> None:
    missed()
    with suppress(OSError), socket.socket(fileno=os.dup(fd)) as sock:
        sock.shutdown(socket.SHUT_RDWR)


def init_app(app: Flask) -> None:
    """Before the engine exists: its connections made here, with the bounds above, for a
    PostgreSQL URL (the tests run on SQLite unless DATABASE_URL names a server)."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "postgresql":
        return
    statement = float(app.config["DATABASE_STATEMENT_TIMEOUT"])
    seconds = statement + GRACE_SECONDS
    down_until = 0.0  # calls fail fast until then; 0: the last call was answered
    trying = threading.Lock()  # held by the one call that tries the server after a failure

    def failed() -> None:
        nonlocal down_until
        down_until = time.monotonic() + FAIL_FAST_SECONDS

    @contextmanager
    def fail_fast() -> Iterator[None]:
        """A statement or connect: it fails at once while down_until is ahead, or while another
        call tries the server; else, after a failure, it is the call that tries."""
        nonlocal down_until
        tries = down_until > 0
        if time.monotonic() < down_until or (tries and not trying.acquire(blocking=False)):
            raise psycopg.OperationalError("the database failed moments ago; failing fast")
        try:
            yield
            down_until = 0.0
        finally:
            if tries:
                trying.release()

    class BoundedCursor(psycopg.Cursor[Any]):
        """psycopg's cursor, each statement under its deadline."""

        def execute(self, *args: Any, **kwargs: Any) -> BoundedCursor:
            with fail_fast(), deadline(self.connection.fileno(), seconds, failed):
                return super().execute(*args, **kwargs)

        def executemany(self, *args: Any, **kwargs: Any) -> None:
            with fail_fast(), deadline(self.connection.fileno(), seconds, failed):
                super().executemany(*args, **kwargs)

    bounds: dict[str, Any] = {
        "connect_timeout": max(1, round(app.config["DATABASE_CONNECT_TIMEOUT"])),
        "options": f"-c statement_timeout={round(statement * 1000)}",
        "tcp_user_timeout": round(seconds * 1000),
        "cursor_factory": BoundedCursor,
    }
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)

    def connect() -> psycopg.Connection[Any]:
        """SQLAlchemy's creator: a connect, failing fast like a statement; a failed one counts too."""
        with fail_fast():
            try:
                return psycopg.connect(conninfo, **bounds)
            except psycopg.OperationalError:
                failed()
                raise

    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**options, "pool_timeout": POOL_TIMEOUT, "creator": connect}

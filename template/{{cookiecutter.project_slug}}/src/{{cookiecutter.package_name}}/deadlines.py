"""Bounds on every PostgreSQL call, so a database that stops answering cannot hold the service's
threads.

libpq, PostgreSQL and SQLAlchemy bound almost everything: `connect_timeout` the connect,
`statement_timeout` a slow statement (the server cancels it), `tcp_user_timeout` a peer that
stops acknowledging (a host or network gone), `pool_timeout` the wait for a free connection and
`pool_pre_ping` a connection that died while idle. One case is left: a server process that is
frozen (SIGSTOP, a stalled VM) while its kernel still acknowledges every packet. Nothing then
cancels the statement and libpq waits for ever, so a watchdog thread shuts down the socket of any
statement still running GRACE_SECONDS after statement_timeout (psycopg raises, the request
answers 503). After such a miss, or a failed connect, calls fail at once for FAIL_FAST_SECONDS,
then one at a time tries again until one is answered.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from flask import Flask
from sqlalchemy.engine import make_url

from . import errors

GRACE_SECONDS = 1.0
FAIL_FAST_SECONDS = 1.0
POOL_TIMEOUT = 5.0
"""Seconds a request waits for a free connection of the pool."""


class DatabaseUnavailable(psycopg.OperationalError):
    """Raised instead of waiting while the database recently missed a deadline (answered 503)."""


class Watchdog:
    """The deadlines of one engine's statements: one daemon thread per process shuts down the
    socket of each statement past its deadline. After a miss or a failed connect, calls fail
    fast (check), then one at a time tries until one is answered."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.due: dict[int, float] = {}  # socket fd -> when its statement is overdue
        self.lock = threading.Lock()
        self.down_until = 0.0  # 0: the last call was answered
        self.pid = 0

    def check(self) -> None:
        """Raise DatabaseUnavailable while failing fast; after that, this call is the one that tries."""
        now = time.monotonic()
        if now < self.down_until:
            raise DatabaseUnavailable("the database missed a deadline moments ago; failing fast")
        if self.down_until:  # the others keep failing fast while this call tries
            self.down_until = now + self.seconds

    def missed(self) -> None:
        self.down_until = time.monotonic() + FAIL_FAST_SECONDS

    @contextmanager
    def deadline(self, fd: int) -> Iterator[None]:
        """The statement on socket fd, bounded."""
        self.check()
        if self.pid != os.getpid():  # threads do not survive fork: one per worker process
            self.pid = os.getpid()
            threading.Thread(target=self.watch, name="db-deadlines", daemon=True).start()
        with self.lock:
            self.due[fd] = time.monotonic() + self.seconds
        try:
            yield
            self.down_until = 0.0
        finally:
            with self.lock:
                self.due.pop(fd, None)

    def watch(self) -> None:
        while True:
            time.sleep(0.1)
            with self.lock:  # held, so a statement that ends now cannot release its fd meanwhile
                now = time.monotonic()
                for fd in [fd for fd, due in self.due.items() if due < now]:
                    del self.due[fd]
                    self.missed()
                    with suppress(OSError), socket.socket(fileno=os.dup(fd)) as sock:
                        sock.shutdown(socket.SHUT_RDWR)


def bounded_cursor(watchdog: Watchdog) -> type[psycopg.Cursor[Any]]:
    """psycopg's cursor with every execute under watchdog's deadline (SQLAlchemy's statements
    and its pre-ping both use it)."""

    class BoundedCursor(psycopg.Cursor[Any]):
        def execute(self, *args: Any, **kwargs: Any) -> BoundedCursor:
            with watchdog.deadline(self.connection.fileno()):
                return super().execute(*args, **kwargs)

        def executemany(self, *args: Any, **kwargs: Any) -> None:
            with watchdog.deadline(self.connection.fileno()):
                super().executemany(*args, **kwargs)

    return BoundedCursor


def init_app(app: Flask) -> None:
    """Before the engine exists: its connections made here, with the bounds above, for a
    PostgreSQL URL (the tests run on SQLite unless DATABASE_URL names a server)."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "postgresql":
        return
    statement = float(app.config["DATABASE_STATEMENT_TIMEOUT"])
    watchdog = Watchdog(statement + GRACE_SECONDS)
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    bounds: dict[str, Any] = {
        "connect_timeout": max(1, round(app.config["DATABASE_CONNECT_TIMEOUT"])),
        "options": f"-c statement_timeout={round(statement * 1000)}",
        "tcp_user_timeout": round(watchdog.seconds * 1000),
        "cursor_factory": bounded_cursor(watchdog),
    }

    def connect() -> psycopg.Connection[Any]:
        """SQLAlchemy's creator: a failed connect (refused, or connect_timeout passed) makes the
        next calls fail fast instead of each waiting out connect_timeout again."""
        watchdog.check()
        try:
            connection = psycopg.connect(conninfo, **bounds)
        except psycopg.OperationalError:
            watchdog.missed()
            raise
        watchdog.down_until = 0.0  # the server answered
        return connection

    options = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"], "pool_timeout": POOL_TIMEOUT, "creator": connect}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    app.register_error_handler(DatabaseUnavailable, errors.handle_unavailable)

"""Bounds on every PostgreSQL call, so a hung database cannot hold the service's threads.

- connect: libpq's `connect_timeout` (DATABASE_CONNECT_TIMEOUT);
- statement: PostgreSQL's `statement_timeout` (DATABASE_STATEMENT_TIMEOUT) cancels a slow
  statement on the server;
- no answer at all (the server frozen, a network black hole): then nothing on the server can
  cancel and libpq has no read timeout, so a watchdog thread shuts the connection's socket down
  one second after the statement timeout; psycopg raises OperationalError, SQLAlchemy discards
  the connection and the request answers 503;
- fail fast: once a deadline was missed or a connect failed, statements fail at once for
  FAIL_FAST_SECONDS (DatabaseUnavailable, answered 503) instead of each waiting out its own
  deadline, so request threads stay free (and /healthz answers) while the database is out;
- half-open: from PROBE_AFTER_SECONDS after the miss, one request thread at a time may try the
  database (under the same deadlines); the first statement answered closes the breaker, so each
  Gunicorn worker serves again on its first request after the database is back.

SQLAlchemy's own pool_pre_ping is replaced by a ping under the same deadline (a frozen server
would hang the built-in one, which runs outside every statement event).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any

import psycopg
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

from . import errors

FAIL_FAST_SECONDS = 5.0
PROBE_AFTER_SECONDS = 1.0
PING_TIMEOUT = 2.0
GRACE_SECONDS = 1.0
POOL_TIMEOUT = 5.0
"""Seconds a request waits for a free connection of the pool."""


class DatabaseUnavailable(RuntimeError):
    """Raised instead of waiting when the database recently missed a deadline (answered 503)."""


def connect_args(connect_timeout: float, statement_timeout: float) -> dict[str, Any]:
    """psycopg connection arguments that bound the connect and every statement."""
    return {
        "connect_timeout": max(1, round(connect_timeout)),
        "options": f"-c statement_timeout={round(statement_timeout * 1000)}",
    }


def _shut_down(fd: int) -> None:
    """End the connection on fd: a blocked read returns at once and psycopg raises."""
    try:
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


class Deadlines:
    """A watchdog over the database calls of one engine, one daemon thread per process.

    `start(key, fd, seconds)` arms a deadline for the call on socket fd, `stop(key)` disarms it.
    """

    def __init__(self, statement_timeout: float) -> None:
        self.statement_timeout = statement_timeout
        self.down_until = 0.0
        self._prober: int | None = None
        self._probe_lease = 0.0
        self._probe_lock = threading.Lock()
        self._pid = 0
        self._cond = threading.Condition()
        self._due: dict[int, tuple[float, int]] = {}

    def _watch(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for key, (deadline, fd) in list(self._due.items()):
                    if deadline <= now:
                        del self._due[key]
                        _shut_down(fd)
                        self.down_until = now + FAIL_FAST_SECONDS
                soonest = min((deadline for deadline, _ in self._due.values()), default=None)
                self._cond.wait(None if soonest is None else max(soonest - now, 0.01))

    def check_available(self) -> None:
        """Go on, or raise DatabaseUnavailable while the breaker is open (a deadline missed less
        than FAIL_FAST_SECONDS ago) unless this thread holds the probe (half-open)."""
        now = time.monotonic()
        if now >= self.down_until:
            return
        if now >= self.down_until - FAIL_FAST_SECONDS + PROBE_AFTER_SECONDS:
            me = threading.get_ident()
            with self._probe_lock:
                # The lease bounds a probe that never reports back (an exception elsewhere).
                if self._prober in (None, me) or now >= self._probe_lease:
                    self._prober = me
                    self._probe_lease = now + self.statement_timeout + GRACE_SECONDS + PING_TIMEOUT
                    return
        raise DatabaseUnavailable("the database missed a deadline moments ago; failing fast")

    def answered(self) -> None:
        """A statement was answered: the database is there, close the breaker."""
        self.down_until = 0.0
        self._prober = None

    def failed(self) -> None:
        """A call failed: let the next probe go (the watchdog or the caller opened the breaker)."""
        self._prober = None

    def start(self, key: int, fd: int, seconds: float) -> None:
        if self._pid != os.getpid():  # first call in this process (threads do not survive fork)
            self._pid, self._cond, self._due = os.getpid(), threading.Condition(), {}
            threading.Thread(target=self._watch, name="db-deadlines", daemon=True).start()
        with self._cond:
            self._due[key] = (time.monotonic() + seconds, fd)
            self._cond.notify()

    def stop(self, key: int) -> None:
        with self._cond:
            self._due.pop(key, None)

    def attach(self, engine: Engine) -> None:
        """Guard every statement and every checkout of engine."""
        event.listen(engine, "before_cursor_execute", self._before_execute)
        event.listen(engine, "after_cursor_execute", self._after_execute)
        event.listen(engine, "handle_error", self._on_error)
        event.listen(engine, "checkout", self._ping)
        event.listen(engine, "do_connect", self._connect)

    def _before_execute(self, conn: Any, cursor: Any, *args: Any) -> None:
        self.check_available()
        self.start(id(cursor), cursor.connection.fileno(), self.statement_timeout + GRACE_SECONDS)

    def _after_execute(self, conn: Any, cursor: Any, *args: Any) -> None:
        self.stop(id(cursor))
        self.answered()

    def _on_error(self, context: Any) -> None:
        cursor = getattr(context.execution_context, "cursor", None)
        if cursor is not None:
            self.stop(id(cursor))
        self.failed()

    def _connect(self, dialect: Any, record: Any, cargs: Any, cparams: Any) -> Any:
        """Open a connection (SQLAlchemy's do_connect, done here to see it fail): when connecting
        fails (refused, or connect_timeout passed), the next requests fail at once instead of
        each waiting out connect_timeout again."""
        self.check_available()
        try:
            return dialect.loaded_dbapi.connect(*cargs, **cparams)
        except psycopg.OperationalError:
            self.down_until = time.monotonic() + FAIL_FAST_SECONDS
            self.failed()
            raise

    def _ping(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        """Pessimistic disconnect handling: a dead connection is replaced (DisconnectionError
        makes the pool retry with a new one), a hung one is cut after PING_TIMEOUT."""
        self.check_available()
        key = id(dbapi_connection)
        self.start(key, dbapi_connection.fileno(), PING_TIMEOUT)
        try:
            dbapi_connection.execute("SELECT 1")
            dbapi_connection.rollback()
        except psycopg.Error as err:
            self.failed()
            self.check_available()  # the ping missed its deadline: the database is out
            raise DisconnectionError(str(err)) from err
        finally:
            self.stop(key)


def configure(app: Flask) -> None:
    """Before the engine exists: bounded connects and statements, for a PostgreSQL URL (the
    tests run on SQLite unless DATABASE_URL names a server)."""
    if not str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        return
    options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    options["pool_pre_ping"] = False  # Deadlines._ping does it, under a deadline
    options["pool_timeout"] = POOL_TIMEOUT
    bounds = connect_args(app.config["DATABASE_CONNECT_TIMEOUT"], app.config["DATABASE_STATEMENT_TIMEOUT"])
    options["connect_args"] = {**options.get("connect_args", {}), **bounds}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    app.extensions["db_deadlines"] = Deadlines(float(app.config["DATABASE_STATEMENT_TIMEOUT"]))


def init_app(app: Flask) -> None:
    """After the database is bound (extensions.init_app): put the engine's calls under the
    watchdog; a database past its deadline is a 503."""
    app.register_error_handler(DatabaseUnavailable, errors.handle_unavailable)
    deadlines: Deadlines | None = app.extensions.get("db_deadlines")
    if deadlines is not None:
        with app.app_context():
            deadlines.attach(app.extensions["sqlalchemy"].engine)

from __future__ import annotations

import socket
import threading
import time

import pytest

from {{ cookiecutter.package_name }}.deadlines import (
    FAIL_FAST_SECONDS,
    PROBE_AFTER_SECONDS,
    DatabaseUnavailable,
    Deadlines,
    connect_args,
)


def test_connect_args_bound_the_connect_and_every_statement() -> None:
    assert connect_args(3, 5) == {"connect_timeout": 3, "options": "-c statement_timeout=5000"}


def test_a_call_past_its_deadline_is_cut_and_the_next_fails_fast() -> None:
    """A server that never answers (here: the silent end of a socket pair): the watchdog shuts the
    socket down at the deadline, the blocked read returns, and later calls fail at once."""
    deadlines = Deadlines(statement_timeout=0.2)
    client, silent_server = socket.socketpair()
    with client, silent_server:
        deadlines.start(1, client.fileno(), 0.2)
        client.settimeout(30)  # bounds a broken watchdog only
        assert client.recv(1) == b""  # returned because the watchdog shut the socket down
        deadlines.stop(1)
    with pytest.raises(DatabaseUnavailable):
        deadlines.check_available()


def test_a_call_that_ends_in_time_is_left_alone() -> None:
    deadlines = Deadlines(statement_timeout=5)
    client, server = socket.socketpair()
    with client, server:
        deadlines.start(1, client.fileno(), 0.3)
        threading.Timer(0.05, server.sendall, args=(b"x",)).start()
        assert client.recv(1) == b"x"
        deadlines.stop(1)
        threading.Event().wait(0.5)  # past the deadline it had: nothing may fire now
        server.sendall(b"y")
        assert client.recv(1) == b"y"
    deadlines.check_available()


def _in_thread(deadlines: Deadlines) -> BaseException | None:
    """check_available() in a new thread: what it raised, or None."""
    raised: list[BaseException] = []

    def call() -> None:
        try:
            deadlines.check_available()
        except DatabaseUnavailable as err:
            raised.append(err)

    thread = threading.Thread(target=call)
    thread.start()
    thread.join(timeout=10)
    return raised[0] if raised else None


def test_half_open_one_probe_at_a_time_and_an_answer_closes_the_breaker() -> None:
    deadlines = Deadlines(statement_timeout=5)
    missed_at = time.monotonic() - PROBE_AFTER_SECONDS - 0.05
    deadlines.down_until = missed_at + FAIL_FAST_SECONDS
    deadlines.check_available()  # this thread probes
    deadlines.check_available()  # ... and may go on with its request
    assert isinstance(_in_thread(deadlines), DatabaseUnavailable)  # the others fail fast meanwhile
    deadlines.failed()  # the probe failed: the next thread may probe
    assert _in_thread(deadlines) is None
    deadlines.answered()  # a statement was answered: closed for everyone
    assert _in_thread(deadlines) is None and _in_thread(deadlines) is None


def test_no_probe_right_after_a_miss() -> None:
    deadlines = Deadlines(statement_timeout=5)
    deadlines.down_until = time.monotonic() + FAIL_FAST_SECONDS
    with pytest.raises(DatabaseUnavailable):
        deadlines.check_available()

"""Starting and stopping real processes on loopback (shared by the live tests and bench/)."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Poll predicate until true; TimeoutError naming what was awaited (bounds a hang only)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 20) -> None:  # type: ignore[type-arg]
    """Ask a process to stop, then kill it if it has not within timeout."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

"""Shared pieces of the benchmarks: a generated project in its own venv, Gunicorn and Nginx
processes on loopback (always stopped), and an asyncio HTTP load generator.

Everything binds 127.0.0.1 only, every run has a fixed duration and connection count, and every
process is stopped in a `finally`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

from flaskgen.generate import generate_project  # noqa: E402
from flaskgen.testing import free_port, local_nginx_conf, nginx_site, port_open, stop, tool_env, wait_until  # noqa: E402
from flaskgen.testing import nginx_binary as find_nginx  # noqa: E402

__all__ = ["free_port", "port_open", "stop", "tool_env", "wait_until"]  # re-exported for run.py

PACKAGE = "bench_service"


def make_project(root: Path, *, checkout: str | None = None, **answers: str) -> Path:
    """Generate the bench service (answers override the defaults) and install it into its venv;
    from the template at git ref `checkout` of this repository when given, else the working tree's."""
    overrides = {
        "database": "none",
        "task_queue": "none",
        "python_version": f"{sys.version_info[0]}.{sys.version_info[1]}",
    }
    project = generate_project(
        template=str(REPO) if checkout else None, checkout=checkout,
        name="Bench Service", no_input=True, overrides={**overrides, **answers}, output_dir=root, git=False,
    ).project_dir  # fmt: skip
    subprocess.run(["make", "install", f"PYTHON={sys.executable}"], cwd=project, env=tool_env(), check=True,
                   capture_output=True)  # fmt: skip
    return project


@dataclass
class Server:
    process: subprocess.Popen
    bind: str
    log: Path

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the Gunicorn master and its live workers
        (/proc/<pid>/stat; Linux, like the rest of the benchmarks)."""
        ticks = 0
        for pid in (self.process.pid, *self.worker_pids()):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):  # a worker that just exited
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return ticks / os.sysconf("SC_CLK_TCK")

    def access_lines(self, needle: str) -> int:
        return sum(needle in line for line in self.log.read_text(errors="replace").splitlines())


@contextmanager
def gunicorn(
    project: Path,
    *,
    bind: str,
    workers: int,
    worker_class: str = "sync",
    app: str = "bench_app:app",
    env: Mapping[str, str] | None = None,
    timeout: int = 30,
) -> Iterator[Server]:
    """Gunicorn with the project's generated deploy/gunicorn.conf.py; only bind/workers/class vary."""
    runtime = Path(tempfile.mkdtemp(prefix="fg-bench-"))
    log = runtime / "gunicorn.log"
    command = [
        str(project / ".venv/bin/gunicorn"), "-c", str(project / "deploy/gunicorn.conf.py"),
        "--worker-class", worker_class, "--timeout", str(timeout), "--pythonpath", str(BENCH), app,
    ]  # fmt: skip
    if worker_class == "sync":
        # Gunicorn silently runs gthread when threads > 1 (the default variant's config sets 4).
        command[1:1] = ["--threads", "1"]
    defaults = {
        "APP_ENV": "production",
        "FLASK_SECRET_KEY": secrets.token_hex(32),
        "GUNICORN_BIND": bind,
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_MAX_REQUESTS": "0",
    }
    full_env = tool_env(**{**defaults, **dict(env or {})})
    process = None
    try:
        with log.open("wb") as out:
            process = subprocess.Popen(command, cwd=project, env=full_env, stdout=out, stderr=subprocess.STDOUT)
        if bind.startswith("unix:"):
            wait_until(lambda: Path(bind[5:]).exists() or process.poll() is not None, "gunicorn socket")
        else:
            port = int(bind.rsplit(":", 1)[1])
            wait_until(lambda: port_open(port) or process.poll() is not None, "gunicorn port")
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}")
        wait_until(lambda: len(Server(process, bind, log).worker_pids()) >= workers, "gunicorn workers")
        used = log.read_text()
        if f"Using worker: {worker_class}" not in used:
            raise RuntimeError(f"gunicorn did not use the {worker_class} worker: {used[-500:]}")
        yield Server(process, bind, log)
    finally:
        stop(process)
        shutil.rmtree(runtime, ignore_errors=True)


def nginx_binary() -> str:
    found = find_nginx()
    if not found:
        raise RuntimeError("nginx is not installed (apt-get install nginx)")
    return found


@contextmanager
def nginx(project: Path, *, port: int, socket_path: Path) -> Iterator[Path]:
    """Nginx with the project's generated site on 127.0.0.1:port (flaskgen.testing.local_nginx_conf).
    The bench's clients all come from 127.0.0.1: the per-address limits are left out so they
    measure the server, not the rate limiter (the limits are tested in tests/test_deploy.py)."""
    runtime = Path(tempfile.mkdtemp(prefix="fg-bench-nginx-"))
    conf = str(
        local_nginx_conf(
            nginx_site(project), runtime, port=port, socket_path=socket_path, drop=("limit_req", "limit_conn")
        )
    )
    process = subprocess.Popen([nginx_binary(), "-p", str(runtime), "-c", conf, "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_until(lambda: port_open(port) or process.poll() is not None, "nginx")
        if process.poll() is not None:
            raise RuntimeError((runtime / "logs/error.log").read_text())
        yield runtime
    finally:
        stop(process, signal.SIGQUIT)
        shutil.rmtree(runtime, ignore_errors=True)


# --- load generation --------------------------------------------------------------------------


@dataclass
class Sample:
    start: float
    latency: float
    status: int  # 0 = connection error or timeout


@dataclass
class LoadResult:
    samples: list[Sample] = field(default_factory=list)
    duration: float = 0.0

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if 200 <= s.status < 400]

    @property
    def errors(self) -> int:
        return len(self.samples) - len(self.ok)

    @property
    def success_rate(self) -> float:
        return len(self.ok) / len(self.samples) if self.samples else 0.0

    @property
    def rps(self) -> float:
        return len(self.ok) / self.duration if self.duration else 0.0

    def percentile(self, q: float) -> float:
        latencies = sorted(s.latency for s in self.ok)
        if not latencies:
            return float("nan")
        if len(latencies) == 1:
            return latencies[0]
        return statistics.quantiles(latencies, n=100, method="inclusive")[int(q) - 1]


async def request(port: int, path: str = "/healthz", *, method: str = "GET", host: str = "bench-service.example.com",
                  timeout: float = 10.0, body: bytes = b"") -> Sample:  # fmt: skip
    """One HTTP/1.1 request on a new connection (Connection: close, as sync workers serve)."""
    start = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
        head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {len(body)}\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout)
        writer.close()
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    except (OSError, TimeoutError, ValueError, IndexError):
        status = 0
    return Sample(start, time.monotonic() - start, status)


async def _closed_loop(
    port: int, path: str, duration: float, concurrency: int, method: str, timeout: float
) -> LoadResult:
    result = LoadResult()
    deadline = time.monotonic() + duration

    async def client() -> None:
        while time.monotonic() < deadline:
            result.samples.append(await request(port, path, method=method, timeout=timeout))

    began = time.monotonic()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    result.duration = time.monotonic() - began
    return result


def load(port: int, path: str = "/healthz", *, duration: float, concurrency: int, method: str = "GET",
         timeout: float = 10.0) -> LoadResult:  # fmt: skip
    """Closed-loop load: `concurrency` clients each sending back-to-back requests for `duration`."""
    return asyncio.run(_closed_loop(port, path, duration, concurrency, method, timeout))


def table(title: str, header: list[str], rows: list[list[object]]) -> str:
    """A Markdown table (what bench/README.md records)."""
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(_fmt(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _fmt(cell: object) -> str:
    if isinstance(cell, float):
        return f"{cell:.3f}" if abs(cell) < 10 else f"{cell:.1f}"
    return str(cell)


def ms(seconds: float) -> float:
    return seconds * 1000

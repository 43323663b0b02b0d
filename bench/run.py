"""Reliability and performance benchmarks of the generated stack and of the CLI.

    python bench/run.py                 # every benchmark, full size (a few minutes)
    python bench/run.py slowloris logging --quick
    python bench/run.py --output bench/last-run.md
    python bench/run.py overhead --set metrics=none   # the projects with a template answer changed

Each benchmark starts real processes on 127.0.0.1 only, runs for a bounded time with bounded
connection counts, stops everything it started, and prints one Markdown table. Results are
side-by-side pairs or ratios from the same run on the same machine; nothing here is a pass/fail
threshold (tests/test_bench.py only runs the --quick versions so the harness keeps working).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    BENCH,
    PACKAGE,
    REPO,
    LoadResult,
    Server,
    free_port,
    gunicorn,
    load,
    make_project,
    ms,
    nginx,
    request,
    table,
    tool_env,
    wait_until,
)

CPUS = os.cpu_count() or 1
DEFAULT_WORKERS = 2 * CPUS + 1


@dataclass
class Size:
    quick: bool
    # --baseline REF: the overhead project made from the template at REF, served in the same rounds.
    baseline: tuple[str, Path] | None = None

    def pick(self, full: float, quick: float) -> float:
        return quick if self.quick else full


# --- 1 and 2: slow clients ----------------------------------------------------------------------


async def _slow_header_client(port: int, hold: float, interval: float, closed_after: list[float]) -> None:
    start = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: bench-service.example.com\r\n")
        await writer.drain()
        while time.monotonic() - start < hold:
            try:
                await asyncio.wait_for(reader.read(1), timeout=interval)
                closed_after.append(time.monotonic() - start)  # the server answered (408) or closed
                break
            except TimeoutError:
                writer.write(b"X-Slow: 1\r\n")  # one more header line: still "sending"
                await writer.drain()
        writer.close()
    except OSError:
        closed_after.append(time.monotonic() - start)


async def _slow_body_client(port: int, hold: float, interval: float) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /upload HTTP/1.1\r\nHost: bench-service.example.com\r\nContent-Length: 1000000\r\n\r\n")
        start = time.monotonic()
        while time.monotonic() - start < hold:
            writer.write(b"x" * 100)
            await writer.drain()
            try:
                if await asyncio.wait_for(reader.read(1), timeout=interval) == b"":
                    break
            except TimeoutError:
                continue
        writer.close()
    except OSError:
        pass


async def _probe(port: int, duration: float, every: float, timeout: float) -> LoadResult:
    result = LoadResult()
    began = time.monotonic()
    while time.monotonic() - began < duration:
        sample = await request(port, timeout=timeout)
        result.samples.append(sample)
        await asyncio.sleep(max(0.0, every - sample.latency))
    result.duration = time.monotonic() - began
    return result


async def _attack(port: int, attackers: Callable[[], list], probe_after: float, probe_for: float) -> LoadResult:
    tasks = [asyncio.create_task(coro) for coro in attackers()]
    await asyncio.sleep(probe_after)
    probe = await _probe(port, probe_for, every=0.25, timeout=3.0)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return probe


def _direct_and_proxied(project: Path, workers: int, run: Callable[[int, object], tuple]) -> list[list[object]]:
    """Run the same attack against Gunicorn exposed on TCP, then against Nginx -> Gunicorn."""
    rows = []
    port = free_port()
    with gunicorn(project, bind=f"127.0.0.1:{port}", workers=workers) as server:
        rows.append(["Gunicorn exposed directly (sync)", *run(port, server)])
    sock = Path(tempfile.mkdtemp(prefix="fg-b-")) / "g.sock"
    port = free_port()
    with gunicorn(project, bind=f"unix:{sock}", workers=workers) as server, nginx(project, port=port, socket_path=sock):
        rows.append(["Nginx -> Gunicorn (generated)", *run(port, server)])
    return rows


def bench_slowloris(project: Path, size: Size) -> str:
    clients = int(size.pick(300, 20))
    hold, probe_for = size.pick(30, 4), size.pick(25, 3)
    closed: dict[int, list[float]] = {}

    def run(port: int, server: object) -> tuple:
        closed[port] = []
        probe = asyncio.run(
            _attack(
                port,
                lambda: [_slow_header_client(port, hold, 2.0, closed[port]) for _ in range(clients)],
                1.0,
                probe_for,
            )
        )
        held = statistics.median(closed[port]) if closed[port] else float("nan")
        return (
            f"{probe.success_rate:.0%}",
            ms(probe.percentile(50)),
            ms(probe.percentile(95)),
            len(closed[port]),
            held,
        )

    rows = _direct_and_proxied(project, DEFAULT_WORKERS, run)
    return table(
        f"1. Slowloris: {clients} clients trickling headers, probe 4 req/s for {probe_for:.0f}s "
        f"({DEFAULT_WORKERS} sync workers)",
        [
            "setup",
            "probe success",
            "probe p50 ms",
            "probe p95 ms",
            "slow conns closed by server",
            "median s until closed",
        ],
        rows,
    )


def bench_slow_body(project: Path, size: Size) -> str:
    clients = int(size.pick(50, 10))
    hold, probe_for = size.pick(20, 3), size.pick(15, 2)

    def run(port: int, server) -> tuple:  # type: ignore[no-untyped-def]
        probe = asyncio.run(
            _attack(port, lambda: [_slow_body_client(port, hold, 2.0) for _ in range(clients)], 1.0, probe_for)
        )
        time.sleep(1.0)
        return (f"{probe.success_rate:.0%}", ms(probe.percentile(95)), server.access_lines("POST /upload"))

    rows = _direct_and_proxied(project, DEFAULT_WORKERS, run)
    return table(
        f"2. Slow bodies: {clients} clients announcing 1 MB and sending 50 B/s",
        ["setup", "probe success", "probe p95 ms", "slow uploads that reached Gunicorn"],
        rows,
    )


# --- 3: worker crash ---------------------------------------------------------------------------


def bench_worker_crash(project: Path, size: Size) -> str:
    duration, kill_at = size.pick(12, 3), size.pick(5, 1)
    workers = 4
    sock = Path(tempfile.mkdtemp(prefix="fg-b-")) / "g.sock"
    port = free_port()
    with gunicorn(project, bind=f"unix:{sock}", workers=workers) as server, nginx(project, port=port, socket_path=sock):
        loop_result: dict[str, LoadResult] = {}

        def drive() -> None:
            loop_result["r"] = load(port, "/io", duration=duration, concurrency=8)

        import threading

        thread = threading.Thread(target=drive)
        began = time.monotonic()
        thread.start()
        time.sleep(kill_at)
        before = set(server.worker_pids())
        victim = sorted(before)[0]
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: len(set(server.worker_pids()) - before) >= 1 and len(server.worker_pids()) >= workers,
                   "a replacement worker", timeout=30)  # fmt: skip
        replaced = time.monotonic() - killed_at
        thread.join()
    result = loop_result["r"]
    kill_offset = killed_at - began

    def rate(lo: float, hi: float) -> float:
        ok = [s for s in result.ok if lo <= s.start - began < hi]
        return len(ok) / (hi - lo) if hi > lo else 0.0

    return table(
        f"3. Worker crash: SIGKILL 1 of {workers} sync workers under load (8 clients, /io 50 ms, via Nginx)",
        ["requests", "failed", "replacement after ms", "req/s before", "req/s after replacement"],
        [
            [
                len(result.samples),
                result.errors,
                ms(replaced),
                rate(0, kill_offset),
                rate(kill_offset + replaced + 0.5, duration),
            ]
        ],
    )


# --- 4: logging --------------------------------------------------------------------------------


def bench_logging(project: Path, size: Size) -> str:
    rows = []
    duration = size.pick(6, 1.5)
    for mode, label in (
        ("queue", "QueueHandler + QueueListener (generated)"),
        ("direct", "plain handler on the root logger"),
    ):
        port = free_port()
        with gunicorn(project, bind=f"127.0.0.1:{port}", workers=2, worker_class="gthread",
                      env={"BENCH_LOG_MODE": mode, "BENCH_SINK_DELAY": "0.1"}, app="bench_app:app"):  # fmt: skip
            result = load(port, "/log", duration=duration, concurrency=8)
        rows.append([label, result.rps, ms(result.percentile(50)), ms(result.percentile(99)), result.errors])
    rows.append(["ratio p50 (plain / queue)", "", rows[1][2] / rows[0][2], "", ""])
    return table(
        "4. Logging with a sink that takes 100 ms per record "
        "(2 gthread workers x 4 threads, 8 clients, 1 record/request)",
        ["logging", "req/s", "p50 ms", "p99 ms", "errors"],
        rows,
    )


# --- 5: slow work off the request path -----------------------------------------------------------


def bench_task_queue(project: Path, size: Size) -> str:
    seconds = size.pick(2, 0.5)
    duration = size.pick(10, 2)
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    env = {
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "FLASK_TASK_QUEUE_NAME": queue,
        "BENCH_EXPORT_SECONDS": str(seconds),
    }
    rows = []
    worker = subprocess.Popen(
        [str(project / ".venv/bin/bench-service-worker")], cwd=project,
        env=tool_env(APP_ENV="production", FLASK_SECRET_KEY=uuid.uuid4().hex * 2, PYTHONPATH=str(BENCH), **env),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for path, label in (("/export-sync", "export in the handler"), ("/export-async", "enqueued (RQ + Redis), 202")):
            port = free_port()
            with gunicorn(project, bind=f"127.0.0.1:{port}", workers=DEFAULT_WORKERS, app="bench_app:app", env=env):
                result = load(port, path, duration=duration, concurrency=20, method="POST", timeout=duration + 5)
            rows.append(
                [label, len(result.ok), result.rps, ms(result.percentile(50)), ms(result.percentile(99)), result.errors]
            )
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    return table(
        f"5. A {seconds:.1f} s export, 20 clients for {duration:.0f} s ({DEFAULT_WORKERS} sync workers, 1 RQ worker)",
        ["export", "requests answered", "req/s", "p50 ms", "p99 ms", "errors"],
        rows,
    )


# --- 6: worker count ---------------------------------------------------------------------------


def _rss_mb(pids: list[int]) -> float:
    """Resident memory of the processes, from /proc (Linux)."""
    total_kb = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        total_kb += int(match.group(1)) if match else 0
    return total_kb / 1024


def bench_worker_count(project: Path, size: Size) -> str:
    counts = [2, DEFAULT_WORKERS, 17, 64] if not size.quick else [2, DEFAULT_WORKERS]
    duration = size.pick(5, 1)
    rows = []
    for count in counts:
        port = free_port()
        with gunicorn(project, bind=f"127.0.0.1:{port}", workers=count, app="bench_app:app") as server:
            cpu = load(port, "/cpu", duration=duration, concurrency=64, timeout=30)
            io = load(port, "/io", duration=duration, concurrency=64, timeout=30)
            rss = _rss_mb([server.process.pid, *server.worker_pids()])
        rows.append([count, cpu.rps, ms(cpu.percentile(99)), io.rps, ms(io.percentile(99)), rss])
    return table(
        f"6. Sync worker count on {CPUS} CPUs (64 clients): CPU-bound /cpu (~10 ms) and I/O-bound /io (50 ms sleep)",
        ["workers", "/cpu req/s", "/cpu p99 ms", "/io req/s", "/io p99 ms", "RSS MB (all processes)"],
        rows,
    )


# --- 7: overhead -------------------------------------------------------------------------------


def bare_and_generated(project: Path) -> list[tuple[str, Path, str]]:
    """(label, project, Gunicorn app) of the two apps `overhead` and `request-parts` compare, the
    bare one first: every ratio and difference is against it."""
    return [("bare Flask hello-world", project, "bench_app:bare"), ("generated app /healthz", project, "bench_app:app")]


def _served_in_turns(apps: list[tuple[str, Path, str]], rounds: int) -> Iterator[tuple[str, Server, int]]:
    """(label, Gunicorn, Nginx port) for each (label, project, Gunicorn app) in turn, `rounds` times:
    each app served by the project's Gunicorn (gthread) behind its Nginx while the caller measures,
    stopped before the next starts. Interleaved, so drift on the machine hits every app alike, and in
    alternating order: the last server of a round ran measurably slower on some rounds here,
    whichever it was."""
    for round_number in range(rounds):
        for label, served, app in apps if round_number % 2 == 0 else apps[::-1]:
            sock = Path(tempfile.mkdtemp(prefix="fg-b-")) / "g.sock"
            port = free_port()
            serving = gunicorn(served, bind=f"unix:{sock}", workers=DEFAULT_WORKERS, worker_class="gthread", app=app)
            with serving as server, nginx(served, port=port, socket_path=sock):
                yield label, server, port


def bench_overhead(project: Path, size: Size) -> str:
    duration = size.pick(4, 1)
    rounds = int(size.pick(12, 1))
    apps = bare_and_generated(project)
    if size.baseline:
        ref, baseline = size.baseline
        apps.append((f"generated app /healthz, template at {ref}", baseline, "bench_app:app"))
    results: dict[str, list[LoadResult]] = {label: [] for label, _, _ in apps}
    cpu: dict[str, list[float]] = {label: [] for label, _, _ in apps}  # Gunicorn CPU µs per answered request
    for label, server, port in _served_in_turns(apps, rounds):
        before = server.cpu_seconds()
        result = load(port, "/healthz", duration=duration, concurrency=16)
        cpu[label].append((server.cpu_seconds() - before) / max(len(result.ok), 1) * 1e6)
        results[label].append(result)
    # Each round runs every app back to back, so the median of the per-round ratios cancels the
    # machine's drift between rounds (the means alone swing by 10% from run to run here). The
    # client shares the 2 cores with Nginx and Gunicorn, so req/s still varies by several percent
    # from round to round; Gunicorn's CPU time per request (its processes' user + system time
    # over the requests answered) does not depend on the client and varies less.
    bare = apps[0][0]
    rows = []
    for label, _, _ in apps:
        runs = results[label]
        rps_ratio = statistics.median(g.rps / b.rps for g, b in zip(runs, results[bare], strict=True))
        cpu_ratio = statistics.median(g / b for g, b in zip(cpu[label], cpu[bare], strict=True))
        rows.append(
            [
                label,
                statistics.mean(r.rps for r in runs),
                statistics.mean(ms(r.percentile(50)) for r in runs),
                statistics.mean(ms(r.percentile(99)) for r in runs),
                statistics.median(cpu[label]),
                rps_ratio,
                cpu_ratio,
                sum(r.errors for r in runs),
            ]
        )
    return table(
        f"7. Overhead of the generated app (request id, JSON logging, error handlers, proxy headers, APIFlask "
        f"contract, metrics) behind the same Nginx + Gunicorn ({rounds} interleaved {duration:.0f} s rounds)",
        ["app", "req/s (mean)", "p50 ms", "p99 ms", "Gunicorn CPU µs / request (median)",
         "req/s ratio to bare (median of rounds)", "CPU ratio to bare (median of rounds)", "errors"],
        rows,
    )  # fmt: skip


# --- recycling: workers reaching max_requests together ---------------------------------------


def _idle_seconds(result: LoadResult) -> tuple[int, float]:
    """(whole seconds of the run in which no request completed, the longest time between two
    completions) of a closed-loop run."""
    ends = sorted(s.start + s.latency for s in result.ok)
    began = min((s.start for s in result.samples), default=0.0)
    busy = {int(end - began) for end in ends}
    whole = int(result.duration)
    gaps = [b - a for a, b in zip([began, *ends], [*ends, began + result.duration], strict=True)]
    return sum(1 for second in range(whole) if second not in busy), max(gaps, default=0.0)


def bench_recycling(project: Path, size: Size) -> str:
    """Even load on 3 gthread workers that recycle every few hundred requests: with a small
    jitter (the template's old fixed 100 of 1000, here 10 %) they reach their limits together
    and the service answers nothing while they restart; with the template's default jitter
    (half the count) they restart one at a time."""
    duration, max_requests = size.pick(30, 4), int(size.pick(400, 40))
    rows = []
    for label, jitter in (("jitter 10 % (before)", max_requests // 10), ("jitter 50 % (the default)", None)):
        port = free_port()
        env = {"GUNICORN_MAX_REQUESTS": str(max_requests)}
        if jitter is not None:
            env["GUNICORN_MAX_REQUESTS_JITTER"] = str(jitter)
        with gunicorn(project, bind=f"127.0.0.1:{port}", workers=3, worker_class="gthread", env=env) as server:
            result = load(port, "/healthz", duration=duration, concurrency=8)
            restarts = server.access_lines("Booting worker") - 3
        idle, gap = _idle_seconds(result)
        rows.append([label, max_requests, restarts, result.rps, idle, ms(gap), result.errors])
    return table(
        f"12. Worker recycling: 3 gthread workers, max_requests {max_requests}, 8 clients on /healthz for "
        f"{duration:.0f} s",
        ["jitter", "max_requests", "restarts", "req/s", "seconds with no completed request", "longest gap ms",
         "errors"],
        rows,
    )  # fmt: skip


# --- 8: generation speed and start-up ------------------------------------------------------------


def compile_bytecode() -> str:
    """Compile the venv's and flaskgen's modules once, so no timed run pays for compiling them: this
    environment sets PYTHONDONTWRITEBYTECODE=1 and `make install` (uv) installs without .pyc files.
    Returns how the environment was prepared, for the table."""
    bin_dir = Path(sys.executable).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", str(bin_dir.parent), str(REPO / "flaskgen")],
                   check=False, capture_output=True)  # fmt: skip
    return f"venv {bin_dir.parent.name} installed by uv (make install), bytecode compiled with compileall first"


def _paired(commands: list[list[str]], runs: int, cwd: Path) -> list[list[float]]:
    """Seconds of each command, run in turn (A B A B ...) so both see the same machine state."""
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for index, command in enumerate(commands):
            out = Path(tempfile.mkdtemp(prefix="fg-gen-", dir=cwd))
            began = time.perf_counter()
            subprocess.run([*command, "-o", str(out)], cwd=cwd, check=True, capture_output=True, env=tool_env())
            times[index].append(time.perf_counter() - began)
    return times


def bench_generation(project: Path, size: Size) -> str:
    runs = int(size.pick(9, 2))
    prepared = compile_bytecode()
    bin_dir = Path(sys.executable).parent
    scratch = Path(tempfile.mkdtemp(prefix="fg-gen-root-"))
    config = scratch / "cc.yaml"
    config.write_text("default_context: {}\n")
    flaskgen_times, cookiecutter_times = _paired(
        [
            # Both without `uv lock` (network-bound, the same uv call in both, 0.1-0.5 s): what is
            # timed is the generators themselves.
            [str(bin_dir / "flaskgen"), "new", "Gen Speed", "--no-input", "--no-git", "--no-lock"],
            [str(bin_dir / "cookiecutter"), "--no-input", "--config-file", str(config), str(REPO / "template"),
             "project_name=Gen Speed", "_uv_lock=no", "_git_init=no"],
        ],
        runs,
        scratch,
    )  # fmt: skip
    flaskgen, cookiecutter = statistics.median(flaskgen_times), statistics.median(cookiecutter_times)
    ratio = statistics.median(f / c for f, c in zip(flaskgen_times, cookiecutter_times, strict=True))
    help_time = statistics.median(_timed([str(bin_dir / "flaskgen"), "--help"]) for _ in range(runs))
    importtime = subprocess.run([sys.executable, "-X", "importtime", "-c", "import flaskgen.cli"], capture_output=True,
                                text=True).stderr  # fmt: skip
    cumulative = {m.group(2).strip(): int(m.group(1)) for m in re.finditer(r"\|\s*(\d+) \|(.*)$", importtime, re.M)}
    heavy = {name: cumulative.get(name, 0) for name in ("cookiecutter", "rich", "jinja2", "pydantic")}
    return table(
        f"8. Generation and start-up (median of {runs} paired runs; {prepared})",
        ["measure", "value"],
        [
            ["`flaskgen new --no-input --no-git --no-lock` s", flaskgen],
            ["`cookiecutter --no-input _uv_lock=no _git_init=no` (same template) s", cookiecutter],
            ["ratio flaskgen / cookiecutter (median of the pairs)", ratio],
            ["`flaskgen --help` wall s", help_time],
            ["`import flaskgen.cli` cumulative ms (-X importtime)", cumulative.get("flaskgen.cli", 0) / 1000],
            [
                "cookiecutter / rich / jinja2 / pydantic loaded by `import flaskgen.cli`",
                ", ".join(k for k, v in heavy.items() if v) or "none (lazy)",
            ],
        ],
    )


def bench_fleet(project: Path, size: Size) -> str:
    """`fleet status` over N local repositories against N runs of `flaskgen check` in one shell
    loop, same run, same venv. Bytecode is compiled first (compileall over the venv and
    flaskgen) so neither side pays for compiling modules: this environment sets
    PYTHONDONTWRITEBYTECODE=1 and `make install` (uv) installs without .pyc files."""
    from flaskgen.generate import generate_project

    count = int(size.pick(50, 3))
    bin_dir = Path(sys.executable).parent
    compile_bytecode()
    scratch = Path(tempfile.mkdtemp(prefix="fg-fleet-"))
    repos = []
    for index in range(count):
        made = generate_project(template=str(REPO), name=f"Fleet Svc {index}", no_input=True,
                                overrides={"database": "none"}, output_dir=scratch / "repos", git=True)  # fmt: skip
        repos.append(made.project_dir)
    manifest = scratch / "fleet.txt"
    manifest.write_text("".join(f"{repo}\n" for repo in repos))
    flaskgen = str(bin_dir / "flaskgen")
    status = _timed(
        [flaskgen, "fleet", "status", str(manifest), "--json", "--cache", str(scratch / "cache")], ok=(0, 1)
    )
    loop = f'for d in {" ".join(map(str, repos))}; do {flaskgen} check "$d" --json >/dev/null || true; done'
    checks = _timed(["bash", "-c", loop])
    return table(
        f"9. Fleet status over {count} repositories ({CPUS} CPUs)",
        ["measure", "seconds", "per repository"],
        [
            [f"`flaskgen fleet status` (jobs = {CPUS}; adds drift + audit per repository)", status, status / count],
            [f"{count} x `flaskgen check` in a shell loop", checks, checks / count],
            ["ratio fleet status / check loop", status / checks, ""],
        ],
    )


# --- 11: where a request's time goes ------------------------------------------------------------

SAMPLE_HZ = 200
REQUEST_PARTS = [
    # (part, path fragments of a frame): a sample inside the app counts for the innermost frame
    # that matches, so a JSON encoder called by APIFlask counts as APIFlask's, and Gunicorn's
    # start_response (which the app calls) as Gunicorn's.
    ("Gunicorn, called by the app (start_response, headers)", ("gunicorn/",)),
    ("Prometheus metrics (multiprocess writes, hook, timer)", ("prometheus_client/", f"{PACKAGE}/metrics.py")),
    ("APIFlask contract (output schema, marshmallow)", ("apiflask/", "marshmallow/")),
    ("proxy headers (template proxy.py, werkzeug ProxyFix)", (f"{PACKAGE}/proxy.py", "werkzeug/middleware/proxy_fix")),
    ("request id hooks, log records (template)", (f"{PACKAGE}/__init__.py", f"{PACKAGE}/logging.py")),
    ("Flask + Werkzeug (routing, contexts, response)", ("flask/", "werkzeug/", "blinker/", "itsdangerous/")),
]


def _request_parts(samples: list[tuple[list[str], int]]) -> dict[str, int]:
    """Samples per part of a Gunicorn request: the WSGI app (by REQUEST_PARTS, else "other app
    code") or Gunicorn's own work (the access log line, the rest)."""
    counts: dict[str, int] = {}
    for frames, count in samples:
        call = next((i for i, frame in enumerate(frames) if frame.startswith("ThreadWorker.handle_request (")), None)
        inside = frames[call + 1 :] if call is not None else []
        if inside and "gunicorn/" not in inside[0]:  # below handle_request, in the app (or its body)
            part = next(
                (name for frame in reversed(inside) for name, marks in REQUEST_PARTS if any(m in frame for m in marks)),
                "other app code",
            )
        elif any(frame.startswith("Logger.access (") for frame in frames):
            part = "Gunicorn: access log line"
        else:
            part = "Gunicorn: accept, parse, write, worker loop"
        counts[part] = counts.get(part, 0) + count
    return counts


def bench_request_parts(project: Path, size: Size) -> str:
    """py-spy samples the threads of Gunicorn's master and workers that hold the GIL (roughly:
    running Python), SAMPLE_HZ times a second, while the same closed-loop load as `overhead` runs;
    each part's samples over the requests answered give its µs per request. A sample is 1/SAMPLE_HZ s
    of one thread, so the total is Gunicorn's Python time per request, comparable between the two
    apps of one run (and to `overhead`'s CPU column, which also counts time outside the GIL). The
    apps take turns, in alternating order, so drift on the machine hits both alike.

    A thread the kernel preempts while it holds the GIL (at a system call, say) still counts as
    holding it: here prometheus_client's os.getpid() per value write showed as about half of the
    metrics' samples, yet taking it out changed nothing in-process (60.0 µs per call either way).
    Read the parts as where the GIL is held, not as exact CPU."""
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        raise RuntimeError(f"py-spy is missing: {sys.executable} -m pip install py-spy (make install does it)")
    seconds = int(size.pick(5, 2))
    rounds = int(size.pick(6, 1))
    apps = bare_and_generated(project)
    samples: dict[str, list[tuple[list[str], int]]] = {label: [] for label, _, _ in apps}
    answered: dict[str, float] = {label: 0.0 for label, _, _ in apps}  # requests answered while sampled
    for label, server, port in _served_in_turns(apps, rounds):
        raw = Path(tempfile.mkdtemp(prefix="fg-spy-")) / "spy.txt"
        load(port, "/healthz", duration=size.pick(1, 0.5), concurrency=16)  # warm
        recorder = subprocess.Popen(
            [str(spy), "record", "--pid", str(server.process.pid), "--subprocesses", "--gil", "--nonblocking",
             "--rate", str(SAMPLE_HZ), "--duration", str(seconds), "--format", "raw", "--output", str(raw)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        result = load(port, "/healthz", duration=seconds + 1, concurrency=16)
        _, errors = recorder.communicate(timeout=seconds + 60)
        if recorder.returncode != 0 or not raw.exists():
            raise RuntimeError(f"py-spy failed (it needs ptrace: root or CAP_SYS_PTRACE): {errors[-500:]}")
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if stack:
                samples[label].append((stack.split(";"), int(count)))
        answered[label] += result.rps * seconds
    per_request = {
        label: {part: count / SAMPLE_HZ / answered[label] * 1e6 for part, count in _request_parts(found).items()}
        for label, found in samples.items()
    }
    parts = [name for name, _ in REQUEST_PARTS] + ["other app code", "Gunicorn: access log line",
                                                   "Gunicorn: accept, parse, write, worker loop"]  # fmt: skip
    bare, generated = (per_request[label] for label, _, _ in apps)
    rows = [[part, bare.get(part, 0.0), generated.get(part, 0.0), generated.get(part, 0.0) - bare.get(part, 0.0)]
            for part in parts]  # fmt: skip
    rows.append(["total", sum(bare.values()), sum(generated.values()), sum(generated.values()) - sum(bare.values())])
    return table(
        f"11. Where a request's time goes: Gunicorn's Python (GIL-held) µs per /healthz request by part (py-spy "
        f"--gil at {SAMPLE_HZ} Hz, {rounds} interleaved {seconds} s rounds per app, {DEFAULT_WORKERS} gthread workers, "
        "16 clients via Nginx)",
        ["part", "bare Flask hello-world", "generated app", "difference"],
        rows,
    )


def _timed(command: list[str], ok: tuple[int, ...] = (0,)) -> float:
    began = time.perf_counter()
    result = subprocess.run(command, capture_output=True, env=tool_env())
    if result.returncode not in ok:
        raise RuntimeError(f"{command[:3]} exited {result.returncode}: {result.stderr.decode()[-2000:]}")
    return time.perf_counter() - began


BENCHMARKS: dict[str, tuple[dict[str, str], Callable[[Path, Size], str]]] = {
    "slowloris": ({}, bench_slowloris),
    "slow-body": ({}, bench_slow_body),
    "worker-crash": ({}, bench_worker_crash),
    "logging": ({}, bench_logging),
    "task-queue": ({"task_queue": "rq"}, bench_task_queue),
    "worker-count": ({}, bench_worker_count),
    "overhead": ({"worker_class": "gthread"}, bench_overhead),
    "generation": ({}, bench_generation),
    "fleet": ({}, bench_fleet),
    "request-parts": ({"worker_class": "gthread"}, bench_request_parts),
    "recycling": ({"worker_class": "gthread"}, bench_recycling),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the harness; too small to report")
    parser.add_argument("--output", type=Path, help="also append the tables to this Markdown file")
    parser.add_argument("--baseline", metavar="REF", help="overhead: also serve the template at this git ref of "
                        "this repository (a commit, a tag, HEAD~1) in the same rounds, for a before/after")  # fmt: skip
    parser.add_argument("--set", dest="answers", metavar="KEY=VALUE", action="append", default=[],
                        help="a template answer for the projects (e.g. metrics=none); repeatable")  # fmt: skip
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from: {', '.join(BENCHMARKS)}")
    if any("=" not in answer for answer in args.answers):
        parser.error("--set takes KEY=VALUE, e.g. --set metrics=none")
    extra = dict(answer.split("=", 1) for answer in args.answers)
    size = Size(quick=args.quick)
    projects: dict[str, Path] = {}
    root = Path(tempfile.mkdtemp(prefix="fg-bench-projects-"))
    names = args.names or list(BENCHMARKS)
    try:
        if args.baseline and "overhead" in names:  # only the overhead benchmark serves it
            answers = {**BENCHMARKS["overhead"][0], **extra}
            size.baseline = (args.baseline, make_project(root / "baseline", checkout=args.baseline, **answers))
        for name in names:
            answers, bench = BENCHMARKS[name]
            answers = {**answers, **extra}
            key = repr(sorted(answers.items()))
            if key not in projects:
                projects[key] = make_project(root / f"p{len(projects)}", **answers)
            began = time.monotonic()
            text = (
                bench(projects[key], size)
                + f"\n_{name}: {time.monotonic() - began:.0f} s, `python bench/run.py {name}`_\n"
            )
            print(text, flush=True)
            if args.output:
                with args.output.open("a") as out:
                    out.write(text + "\n")
    finally:
        subprocess.run(["rm", "-rf", str(root)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

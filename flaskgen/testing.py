"""Running a generated project for real, on this machine: its tool environment, loopback ports,
processes, and a local Nginx in front of its Gunicorn.

flaskgen's own test suite and benchmarks use these, and so can an organisation that tests its
fork of the template the same way. Standard library and crossplane only: importing this module
does not need pytest.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from flaskgen.audit.parsers.nginx import walk_directives

__all__ = [
    "free_port",
    "local_nginx_conf",
    "nginx_binary",
    "nginx_site",
    "port_open",
    "run_step",
    "stop",
    "tool_env",
    "wait_until",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
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


def stop(process: subprocess.Popen[Any] | None, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Ask a process to stop, then kill it if it has not within timeout."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def nginx_binary() -> str | None:
    """The nginx executable (Debian installs it in /usr/sbin, which a user's PATH may lack)."""
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def tool_env(**extra: str) -> dict[str, str]:
    """The environment for a generated project's own tools: this interpreter's bin directory
    first on PATH (uv, ruff), no stray DATABASE_URL/REDIS_URL/VIRTUAL_ENV, no Python downloads.

    PYTHONDONTWRITEBYTECODE is dropped too: a project's venv (uv installs without bytecode) then
    caches each module's bytecode the first time it is imported, as on any developer's machine,
    instead of compiling every imported module again in every interpreter a check starts (its
    pytest, `flask`, `gunicorn --check-config`, ...): about 2.4x on a suite's wall clock here."""
    dropped = ("DATABASE_URL", "REDIS_URL", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env.update(extra)
    return env


def run_step(name: str, command: list[str], cwd: Path, env: Mapping[str, str], timeout: int = 600) -> None:
    """Run one step; on failure raise AssertionError with the step name and the tool's output."""
    result = subprocess.run(command, cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-6000:]
        raise AssertionError(f"step '{name}' failed (exit {result.returncode}) in {cwd.name}:\n{output}")


def nginx_site(project: Path) -> Path:
    """The Nginx site a generated project ships: deploy/nginx/<slug>.conf."""
    return project / "deploy" / "nginx" / f"{project.name}.conf"


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate and key for localhost (openssl). The generated deploy/check.py
    has its own copy on purpose: a generated project runs without flaskgen installed."""
    cert, key = directory / "fullchain.pem", directory / "privkey.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _localize(
    directives: list[dict[str, Any]],
    *,
    directory: Path,
    port: int,
    tls_port: int,
    loopback_port: int,
    socket_path: Path,
    certificate: tuple[Path, Path] | None,
    drop: Collection[str],
) -> list[dict[str, Any]]:
    """The site's directives with every system path and port moved to this machine."""
    kept = []
    for directive in directives:
        name, args = directive["directive"], list(directive["args"])
        if name in drop or (name == "listen" and args and args[0].startswith("[")):
            continue  # IPv6 listeners may be unavailable here; IPv4 loopback is enough
        if name == "listen" and args:
            public = tls_port if args[0] == "443" else port if args[0] == "80" else None
            if public is not None:
                args[0] = f"127.0.0.1:{public}"
            elif args[0].startswith("127.0.0.1:"):  # an internal listener (the metrics scraper's)
                args[0] = f"127.0.0.1:{loopback_port}"
        elif name == "server" and args and args[0].startswith("unix:"):
            args[0] = f"unix:{socket_path}"
        elif name in ("root", "alias") and args:
            # /srv/<slug>/static/ and certbot's webroot: an empty directory of the same role here.
            local = directory / "www" / Path(args[0]).name
            local.mkdir(parents=True, exist_ok=True)
            args[0] = f"{local}/" if args[0].endswith("/") else str(local)
        elif name in ("ssl_certificate", "ssl_certificate_key") and certificate is not None:
            args[0] = str(certificate[0] if name == "ssl_certificate" else certificate[1])
        local_directive = {"directive": name, "args": args}
        if "block" in directive:
            local_directive["block"] = _localize(
                directive["block"], directory=directory, port=port, tls_port=tls_port, loopback_port=loopback_port,
                socket_path=socket_path, certificate=certificate, drop=drop,
            )  # fmt: skip
        kept.append(local_directive)
    return kept


def local_nginx_conf(
    site: Path,
    directory: Path,
    *,
    port: int,
    socket_path: Path,
    tls_port: int | None = None,
    loopback_port: int | None = None,
    drop: Collection[str] = (),
) -> Path:
    """An nginx.conf under directory that serves the generated site (deploy/nginx/<slug>.conf)
    on 127.0.0.1:port (and tls_port, with a self-signed certificate; its loopback-only listener,
    the metrics scraper's, on loopback_port) in front of the Gunicorn socket at socket_path.
    The site is parsed and rebuilt with crossplane, so only the listen addresses, the upstream
    socket, the certificate and the static/webroot paths change; directives named in drop (e.g.
    limit_req for a load benchmark) are left out. Returns the path of nginx.conf: run
    `nginx -p DIRECTORY -c PATH`."""
    import crossplane

    directory.mkdir(parents=True, exist_ok=True)
    for sub in ("logs", "tmp"):
        (directory / sub).mkdir(exist_ok=True)
    payload = crossplane.parse(str(site), single=True, check_ctx=False, check_args=False)
    if payload["status"] != "ok":
        raise ValueError(f"cannot parse {site}: {payload['errors']}")
    parsed = payload["config"][0]["parsed"]
    needs_certificate = any(d["directive"] == "ssl_certificate" for d in walk_directives(parsed))
    local = _localize(
        parsed, directory=directory, port=port, tls_port=tls_port or free_port(),
        loopback_port=loopback_port or free_port(), socket_path=socket_path,
        certificate=make_certificate(directory) if needs_certificate else None, drop=drop,
    )  # fmt: skip
    (directory / site.name).write_text(crossplane.build(local) + "\n")
    mime = Path("/etc/nginx/mime.types")
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp_paths = "".join(
        f"    {kind}_temp_path {directory}/tmp/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = directory / "nginx.conf"
    conf.write_text(
        f"{user}worker_processes 1;\nworker_rlimit_nofile 2048;\npid {directory}/nginx.pid;\n"
        f"error_log {directory}/logs/error.log warn;\nevents {{ worker_connections 1024; }}\nhttp {{\n"
        + (f"    include {mime};\n" if mime.exists() else "")
        + f"    default_type application/octet-stream;\n    access_log {directory}/logs/access.log;\n"
        + temp_paths
        + f"    include {directory / site.name};\n}}\n"
    )
    return conf

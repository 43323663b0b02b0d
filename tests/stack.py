"""A generated project served for real: Gunicorn with its config on a unix socket, Nginx with its
site on a loopback port, requests sent as a client's would be (shared by the live tests)."""

from __future__ import annotations

import http.client
import secrets
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flaskgen.generate import generate_project
from flaskgen.testing import (
    free_port,
    local_nginx_conf,
    nginx_binary,
    nginx_site,
    port_open,
    run_step,
    stop,
    tool_env,
    wait_until,
)
from tests.helpers import find_python, require


def make_project(root: Path, **overrides: Any) -> Path:
    answers = {"database": "none", "task_queue": "none", "python_version": "3.11", **overrides}
    return generate_project(name="Edge API", no_input=True, overrides=answers, output_dir=root).project_dir


def install(project: Path) -> None:
    """`make install` with the project's Python 3.11 (skips, or fails under CI, without one)."""
    python = find_python("3.11")
    require(python is not None, "no Python 3.11 interpreter for the generated project")
    run_step("install", ["make", "install", f"PYTHON={python}"], project, tool_env())


def local_nginx(
    project: Path,
    directory: Path,
    *,
    port: int = 8080,
    socket_path: Path | None = None,
    scraper_port: int | None = None,
) -> Path:
    """An nginx.conf under directory serving the project's generated site on 127.0.0.1:port
    (its metrics scraper's listener on scraper_port)."""
    return local_nginx_conf(
        nginx_site(project), directory, port=port, socket_path=socket_path or directory / "gunicorn.sock",
        loopback_port=scraper_port,
    )  # fmt: skip


@dataclass
class Stack:
    project: Path
    port: int
    gunicorn: subprocess.Popen[bytes]
    gunicorn_log: Path
    socket: Path
    scraper_port: int
    host: str = "edge-api.example.com"

    def request(
        self,
        method: str = "GET",
        path: str = "/healthz",
        headers: Mapping[str, str] | None = None,
        *,
        timeout: float = 10,
        source: str = "127.0.0.1",
        body: bytes | None = None,
    ) -> Any:
        """One request through Nginx; `source` picks the client address (127.0.0.0/8), since
        Nginx rate-limits per address."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout, source_address=(source, 0))
        try:
            connection.request(method, path, body=body, headers={"Host": self.host, **(headers or {})})
            response = connection.getresponse()
            response.body = response.read()
            return response
        finally:
            connection.close()

    def gunicorn_request(self, path: str) -> tuple[int, bytes]:
        """GET path straight from Gunicorn's unix socket, as Nginx would send it."""
        connection = UnixHTTPConnection(self.socket)
        try:
            connection.request("GET", path, headers={"Host": self.host})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (the standard library has no such client)."""

    def __init__(self, path: Path, timeout: float = 10) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(str(self.path))


def production_env(sock: Path, **extra: str) -> dict[str, str]:
    """The environment of a production Gunicorn on sock; extra overrides any of it."""
    settings = {
        "APP_ENV": "production",
        "FLASK_SECRET_KEY": secrets.token_hex(32),
        "GUNICORN_BIND": f"unix:{sock}",
        "WEB_CONCURRENCY": "2",
    }
    return tool_env(**{**settings, **extra})


@contextmanager
def running_stack(project: Path, **env: str) -> Iterator[Stack]:
    """Gunicorn (production tier, env on top) behind Nginx; both stopped at the end."""
    nginx = nginx_binary()
    require(nginx is not None, "nginx is not installed (apt-get install nginx)")
    # Short path: unix socket paths are limited to 108 bytes.
    runtime = Path(tempfile.mkdtemp(prefix="fg-live-"))
    sock = runtime / "gunicorn.sock"
    port, scraper_port = free_port(), free_port()
    conf = local_nginx(project, runtime / "nginx", port=port, socket_path=sock, scraper_port=scraper_port)
    gunicorn_log = runtime / "gunicorn.log"
    gunicorn = nginx_process = None
    package = project.name.replace("-", "_")
    try:
        with gunicorn_log.open("wb") as log:
            gunicorn = subprocess.Popen(
                [str(project / ".venv/bin/gunicorn"), "-c", "deploy/gunicorn.conf.py", f"{package}.wsgi:app"],
                # RUNTIME_DIRECTORY as systemd sets it (RuntimeDirectory=): the metrics files go there.
                cwd=project, env=production_env(sock, RUNTIME_DIRECTORY=str(runtime), **env), stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_until(lambda: sock.exists() or gunicorn.poll() is not None, "the gunicorn socket")
        assert gunicorn.poll() is None, gunicorn_log.read_text()
        nginx_process = subprocess.Popen(
            [nginx, "-p", str(runtime / "nginx"), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(lambda: port_open(port) or nginx_process.poll() is not None, "nginx")
        assert nginx_process.poll() is None, (runtime / "nginx" / "logs" / "error.log").read_text()
        yield Stack(project, port, gunicorn, gunicorn_log, sock, scraper_port)
    finally:
        stop(nginx_process, signal.SIGQUIT)
        stop(gunicorn)
        subprocess.run(["rm", "-rf", str(runtime)], check=False)

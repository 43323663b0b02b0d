"""A generated project served for real: Gunicorn with its config on a unix socket, Nginx with its
site on a loopback port, requests sent as a client's would be (shared by the live tests)."""

from __future__ import annotations

import grp
import http.client
import json
import pwd
import re
import secrets
import shlex
import shutil
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

SERVICE_USER = "nobody"
"""The unprivileged user the deploy-as-documented check runs the service as."""


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


def service_python(version: str) -> tuple[str, dict[str, str]]:
    """An interpreter of version X.Y that SERVICE_USER can run (the project's venv links to it),
    and the environment it needs: the system's when there is one; else this machine's pyenv build
    (under root's home, mode 700 here), hard-linked (cp -al) once to a shared directory under
    /tmp, with its lib/ on LD_LIBRARY_PATH (the build's RUNPATH names root's home)."""

    def runs(executable: str, env: dict[str, str]) -> bool:
        probe = ["runuser", "-u", SERVICE_USER, "--", "env", *(f"{k}={v}" for k, v in env.items()), executable,
                 "-c", "import ssl, sqlite3"]  # fmt: skip
        return subprocess.run(probe, capture_output=True, check=False).returncode == 0

    for system in (f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"):
        if Path(system).exists() and runs(system, {}):
            return system, {}
    python = find_python(version)
    require(python is not None, f"no Python {version} interpreter on this machine")
    assert python is not None
    probe = [python, "-c", "import os, sys; print(os.path.realpath(sys.executable), sys.base_prefix)"]
    executable, prefix = subprocess.run(probe, capture_output=True, text=True, check=True).stdout.split()
    shared = Path(tempfile.gettempdir()) / "flaskgen-service-python" / Path(prefix).name
    if not shared.exists():
        shared.parent.mkdir(mode=0o755, exist_ok=True)
        partial = Path(tempfile.mkdtemp(dir=shared.parent))
        subprocess.run(["cp", "-al", f"{prefix}/.", str(partial)], check=True)
        partial.chmod(0o755)
        partial.rename(shared)  # atomic: a parallel run finds it whole or not at all
    linked, env = str(shared / Path(executable).relative_to(prefix)), {"LD_LIBRARY_PATH": str(shared / "lib")}
    assert runs(linked, env), f"{SERVICE_USER} cannot run {linked}"
    return linked, env


def install_block(readme: str) -> list[str]:
    """The shell lines of the first ```sh block under "## Install" in deploy/README.md."""
    section = readme.split("## Install", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def deploy_as_documented(project: Path, database_url: str | None = None) -> None:
    """deploy/README.md's install steps, run as written on a copy of the project (`sudo`: root;
    the service user: SERVICE_USER; /srv/<slug> and /etc/<slug>/env: a temporary directory),
    then Gunicorn as the systemd unit starts it (its ExecStart, WorkingDirectory and Environment=
    lines) as SERVICE_USER: POST /items is 201 and GET /items 200 on its socket. The install is
    the README's non-editable `uv sync`, so the instance folder cannot fall inside the venv."""
    slug, package = project.name, project.name.replace("-", "_")
    user = pwd.getpwnam(SERVICE_USER)
    group = grp.getgrgid(user.pw_gid).gr_name
    root = Path(tempfile.mkdtemp(prefix="fg-deploy-"))
    root.chmod(0o755)  # mkdtemp's 700 would keep the service user out
    srv, etc, run = root / "srv" / slug, root / "etc" / slug, root / "run"
    python_version = re.search(r'requires-python = ">=(\d+\.\d+)"', (project / "pyproject.toml").read_text())
    assert python_version is not None
    python, python_env = service_python(python_version.group(1))
    env = tool_env(UV_PYTHON=python, **python_env)
    env.pop("UV_PROJECT_ENVIRONMENT", None)  # the README's uv sync makes srv/.venv

    def local(line: str) -> str:
        """A README line for this machine."""
        line = line.replace(f"sudo -u {slug} ", f"runuser -u {SERVICE_USER} -- ")
        line = line.replace("-- --preserve-env=APP_ENV ", "-- ")  # older READMEs
        line = line.replace("sudo ", "")
        line = line.replace(f"-o {slug} ", f"-o {SERVICE_USER} ").replace(f"-g {slug} ", f"-g {group} ")
        return line.replace(f"/srv/{slug}", str(srv)).replace(f"/etc/{slug}/env", str(etc / "env"))

    try:
        shutil.copytree(project, srv, ignore=shutil.ignore_patterns(".venv", "dist", "instance", "*_cache"))
        readme = (srv / "deploy/README.md").read_text()
        steps = [line for line in install_block(readme) if re.search(r"uv sync|install -d|install -D|db upgrade", line)]
        assert any("db upgrade" in line for line in steps), "deploy/README.md has no migrate step"
        for line in steps:
            if "db upgrade" in line:  # the env file, edited as the README says ("then edit it")
                settings = (etc / "env").read_text().replace("change-me-to-64-hex-characters", secrets.token_hex(32))
                if database_url:
                    settings = re.sub(r"(?m)^DATABASE_URL=.*$", f"DATABASE_URL={database_url}", settings)
                (etc / "env").write_text(settings)
            run_step(f"deploy/README.md: {line}", ["sh", "-ec", local(line)], srv, env)
        assert not list((srv / ".venv").glob("**/*instance*")), "the instance folder is inside the venv"

        unit = local((srv / f"deploy/systemd/{slug}.service").read_text())
        service_env = {**dict(line.split("=", 1) for line in (etc / "env").read_text().splitlines()
                              if "=" in line and not line.startswith("#"))}  # fmt: skip
        for assignment in re.findall(r"(?m)^Environment=(.*)$", unit):
            service_env.update(dict(item.split("=", 1) for item in shlex.split(assignment)))
        run.mkdir()
        shutil.chown(run, SERVICE_USER, group)
        sock = run / "gunicorn.sock"
        service_env.update(GUNICORN_BIND=f"unix:{sock}", RUNTIME_DIRECTORY=str(run), WEB_CONCURRENCY="2",
                           PATH="/usr/bin:/bin", **python_env)  # fmt: skip
        (workdir,) = re.findall(r"(?m)^WorkingDirectory=(.*)$", unit)
        (exec_start,) = re.findall(r"(?m)^ExecStart=(.*)$", unit)
        log = run / "gunicorn.log"
        with log.open("wb") as out:
            gunicorn = subprocess.Popen(
                ["runuser", "-u", SERVICE_USER, "--", "env", "-i", *(f"{k}={v}" for k, v in service_env.items()),
                 *shlex.split(exec_start)],
                cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            wait_until(lambda: sock.exists() or gunicorn.poll() is not None, "the gunicorn socket")
            assert gunicorn.poll() is None, log.read_text()
            trusted = re.search(r'TRUSTED_HOSTS = \("([^"]+)"', (srv / f"src/{package}/config.py").read_text())
            assert trusted is not None
            host = {"Host": trusted.group(1)}
            created = unix_request(sock, "POST", "/items", {**host, "Content-Type": "application/json"},
                                   json.dumps({"name": "deployed"}).encode())  # fmt: skip
            assert created[0] == 201, (created, log.read_text()[-3000:])
            listed = unix_request(sock, "GET", "/items", host)
            assert listed[0] == 200 and b"deployed" in listed[1], listed
        finally:
            stop(gunicorn)
    finally:
        subprocess.run(["rm", "-rf", str(root)], check=False)


def unix_request(
    sock: Path, method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, bytes]:
    """One request to Gunicorn's unix socket: (status, body)."""
    connection = UnixHTTPConnection(sock)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()

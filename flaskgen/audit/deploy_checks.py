"""Deployment facts and checks: Gunicorn settings (gunicorn.conf.py files and command lines in a
Procfile, Dockerfile, compose file, systemd unit or shell script) and Nginx site configs (parsed
with crossplane)."""

from __future__ import annotations

import ast
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flaskgen.audit.python_checks import Hit

SLOW_CLIENT_LIMIT_SECONDS = 20
PUBLIC_HOSTS = {"0.0.0.0", "::", "[::]", ""}


@dataclass(frozen=True)
class GunicornConfig:
    """Gunicorn settings from one place: a config file (`timeout = 0`) or a command line
    (`--timeout 0`). Each value carries the line it was set on."""

    path: Path
    origin: str
    """"config" (a gunicorn.conf.py) or "command" (a command line)."""
    binds: tuple[tuple[str, int], ...] = ()
    workers: tuple[int, int] | None = None
    worker_class: str | None = None
    timeout: tuple[int, int] | None = None

    @property
    def effective_worker_class(self) -> str:
        """Gunicorn's default is sync."""
        return self.worker_class or "sync"


def is_public(bind: str) -> bool:
    """0.0.0.0:8000, [::]:8000, :8000 and a bare port are reachable from other hosts."""
    if bind.startswith(("unix:", "fd://")):
        return False
    host = bind.rsplit(":", 1)[0] if ":" in bind.replace("[::]", "") or bind.startswith(":") else bind
    if bind.startswith("[::]"):
        host = "[::]"
    return host in PUBLIC_HOSTS or bind.isdigit()


def _options(path: Path, line: int, argv: list[str]) -> GunicornConfig | None:
    if not any(Path(arg).name == "gunicorn" for arg in argv[:3]) and "gunicorn" not in argv[:3]:
        return None
    binds: list[str] = []
    values: dict[str, str] = {}
    flags = {"-b": "bind", "--bind": "bind", "-w": "workers", "--workers": "workers", "-k": "worker_class",
             "--worker-class": "worker_class", "-t": "timeout", "--timeout": "timeout"}  # fmt: skip
    i = 0
    while i < len(argv):
        arg = argv[i]
        key, _, inline = arg.partition("=")
        if key in flags:
            value = inline if inline else (argv[i + 1] if i + 1 < len(argv) else "")
            if flags[key] == "bind":
                binds.append(value)
            else:
                values[flags[key]] = value
            i += 1 if inline else 2
            continue
        i += 1

    def at_line(name: str) -> tuple[int, int] | None:
        return (int(values[name]), line) if values.get(name, "").isdigit() else None

    return GunicornConfig(
        path, "command", tuple((bind, line) for bind in binds), at_line("workers"), values.get("worker_class"),
        at_line("timeout"),
    )  # fmt: skip


def _split(command: str) -> list[str]:
    try:
        return shlex.split(command, comments=True)
    except ValueError:
        return command.split()


def gunicorn_commands(path: Path, text: str) -> Iterator[GunicornConfig]:
    """Gunicorn invocations in a Procfile, Dockerfile, compose file, systemd unit or shell script."""
    for number, line in enumerate(text.splitlines(), start=1):
        if "gunicorn" not in line:
            continue
        command = line.strip()
        command = re.sub(r"^(CMD|ENTRYPOINT|RUN|ExecStart=|command:|web:|-)\s*", "", command, flags=re.IGNORECASE)
        argv: list[str] | None = None
        if command.startswith("["):
            try:
                loaded = json.loads(command)
                argv = [str(x) for x in loaded] if isinstance(loaded, list) else None
            except ValueError:
                argv = None
        if argv is None:
            argv = _split(command.strip("'\""))
        # "sh -c 'gunicorn ...'" or "exec gunicorn ...": start at the gunicorn word.
        for start, word in enumerate(argv):
            if Path(word).name == "gunicorn":
                parsed = _options(path, number, argv[start:])
                if parsed is not None:
                    yield parsed
                break


def gunicorn_config_file(path: Path, tree: ast.Module) -> GunicornConfig:
    """Literal values of bind/workers/worker_class/timeout in a gunicorn.conf.py (string
    defaults inside environment lookups count)."""
    binds: list[tuple[str, int]] = []
    workers = timeout = None
    worker_class = None
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        name, value = node.targets[0].id, node.value
        number = value.value if isinstance(value, ast.Constant) and type(value.value) is int else None
        if name == "bind":
            strings = [n.value for n in ast.walk(value) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            binds += [(bind, node.lineno) for bind in strings]
        elif name == "workers" and number is not None:
            workers = (number, node.lineno)
        elif name == "worker_class" and isinstance(value, ast.Constant):
            worker_class = str(value.value)
        elif name == "timeout" and number is not None:
            timeout = (number, node.lineno)
    return GunicornConfig(path, "config", tuple(binds), workers, worker_class, timeout)


def web_concurrency(text: str) -> Iterator[tuple[int, int]]:
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.search(r"WEB_CONCURRENCY[\"']?\s*[=:]\s*[\"']?(\d+)", line)
        if match:
            yield int(match.group(1)), number


# --- Nginx --------------------------------------------------------------------------------


def _walk(block: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for directive in block:
        yield directive
        yield from _walk(directive.get("block", []))


def _seconds(value: str) -> float | None:
    match = re.fullmatch(r"(\d+)(ms|s|m|h)?", value)
    if not match:
        return None
    number, unit = int(match.group(1)), match.group(2) or "s"
    return number * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


def parse_nginx(path: Path) -> list[dict[str, Any]] | None:
    """The directives of one config file (includes not followed), or None when it is not Nginx."""
    import crossplane

    payload = crossplane.parse(str(path), single=True, check_ctx=False, check_args=False, catch_errors=True)
    if payload["status"] != "ok" or not payload["config"]:
        return None
    return payload["config"][0]["parsed"]


def proxies(parsed: list[dict[str, Any]]) -> bool:
    return any(d["directive"] in ("proxy_pass", "uwsgi_pass") for d in _walk(parsed))


def _slow_timeouts(settings: dict[str, list[str]], names: tuple[str, ...]) -> Iterator[str]:
    """The named timeouts that are missing (Nginx's 60 s default) or too long."""
    for name in names:
        value = settings.get(name)
        seconds = _seconds(value[0]) if value else None
        if seconds is None or seconds > SLOW_CLIENT_LIMIT_SECONDS:
            yield f"{name} {value[0] if value else 'missing (60s default)'}"


def check_nginx(parsed: list[dict[str, Any]], *, sync_workers: bool) -> Iterator[Hit]:
    """FG201/202/203 on every server block that proxies to the app, and FG202 on default servers
    (until the Host header is read, Nginx applies the default server's header timeout to every
    connection on that port). http-level settings in the same file count for its servers."""
    inherited: dict[str, list[str]] = {}
    for directive in parsed:
        if directive["directive"] == "http":
            inherited = {d["directive"]: d["args"] for d in directive.get("block", [])}
    servers = [d for d in _walk(parsed) if d["directive"] == "server" and "block" in d]
    for server in servers:
        own = {**inherited, **{d["directive"]: d["args"] for d in server["block"]}}
        is_default = any("default_server" in d["args"] for d in server["block"] if d["directive"] == "listen")
        if is_default and not proxies(server["block"]):
            for problem in _slow_timeouts(own, ("client_header_timeout",)):
                yield Hit("FG202", server["line"], f"default server: {problem} applies to every connection on its port")
        if not proxies(server["block"]):
            continue
        for problem in _slow_timeouts(own, ("client_header_timeout", "client_body_timeout")):
            yield Hit("FG202", server["line"], f"{problem}: slow clients hold connections open")
        if "client_max_body_size" not in own:
            yield Hit("FG203", server["line"], "no client_max_body_size: body size is not aligned with the app")
        if sync_workers:
            for directive in _walk(server["block"]):
                if directive["directive"] in ("proxy_buffering", "proxy_request_buffering") and directive["args"] == [
                    "off"
                ]:
                    yield Hit("FG201", directive["line"], f"{directive['directive']} off in front of sync workers")

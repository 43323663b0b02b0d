"""Gunicorn settings from one place: a gunicorn.conf.py, a command line in a command file, or Gunicorn
embedded in Python; binds and what they expose."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flaskgen.audit.ast_tools import env_lookup, literal_text
from flaskgen.audit.parsers.commands import commands

PUBLIC_HOSTS = {"0.0.0.0", "::", "[::]", ""}


LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


@dataclass(frozen=True)
class GunicornConfig:
    """Gunicorn settings from one place: a config file (`timeout = 0`) or a command line
    (`--timeout 0`). Each value carries the line it was set on."""

    path: Path
    origin: str
    """"config" (a gunicorn.conf.py) or the kind of command file ("dockerfile", "procfile", ...)."""
    binds: tuple[tuple[str, int], ...] = ()
    workers: tuple[int, int] | None = None
    worker_class: str | None = None
    timeout: tuple[int, int] | None = None
    graceful_timeout: int | None = None
    workers_from_cpus: bool = False
    """The worker count is computed from the CPU count (`multiprocessing.cpu_count() * 2 + 1`)."""
    workers_env: tuple[str, ...] = ()
    """Environment variables the worker count is read from first (`os.getenv("WORKERS", ...)`)."""
    app: str = ""
    """The application a command line serves (`web.wsgi:app`, `"frontend:create_app()"`)."""

    @property
    def effective_worker_class(self) -> str:
        """Gunicorn's default is sync; a class read from a variable the audit cannot resolve is "?"."""
        if self.worker_class is None:
            return "sync"
        name = self.worker_class.strip("'\"")
        if "$" in name or "{" in name:
            return "?"
        return {"gevent.GeventWorker": "gevent", "egg:meinheld#gunicorn_worker": "meinheld"}.get(
            name.removeprefix("gunicorn.workers.").removeprefix("ggevent."), name
        )


def split_bind(bind: str) -> tuple[str, str]:
    """`0.0.0.0:8000` -> ("0.0.0.0", "8000"); `[::]:80` -> ("[::]", "80"); `8000` -> ("", "8000")."""
    if bind.startswith("["):
        host, _, port = bind.partition("]")
        return host + "]", port.lstrip(":")
    if bind.isdigit() or bind.startswith("$") or bind.startswith("{"):
        return "", bind
    host, _, port = bind.rpartition(":")
    return host, port


def is_public(bind: str) -> bool:
    """0.0.0.0:8000, [::]:8000, :8000 and a bare port are reachable from other hosts."""
    if bind.startswith(("unix:", "fd://")):
        return False
    return split_bind(bind)[0] in PUBLIC_HOSTS


def is_platform_port(bind: str) -> bool:
    """A bind on $PORT: the platform (Heroku-style, Cloud Run, Render, ...) assigns the port and its
    router is the proxy in front."""
    return "PORT" in split_bind(bind)[1]


LAUNCHERS = {"exec", "sh", "bash", "-c", "env", "nohup", "sudo", "-u", "--", "poetry", "pipenv", "uv", "run",
             "-m", "&&", ";", "then", "do"}  # fmt: skip


_FLAGS = {"-b": "bind", "--bind": "bind", "-w": "workers", "--workers": "workers", "-k": "worker_class",
          "--worker-class": "worker_class", "-t": "timeout", "--timeout": "timeout"}  # fmt: skip


def gunicorn_options(path: Path, origin: str, line: int, argv: list[str]) -> GunicornConfig:
    binds: list[str] = []
    values: dict[str, str] = {}
    app = ""
    i = 0
    while i < len(argv):
        key, _, inline = argv[i].partition("=")
        if key not in _FLAGS and argv[i][:2] in _FLAGS:  # -w4, -b0.0.0.0:80
            key, inline = argv[i][:2], argv[i][2:]
        if key in _FLAGS:
            value = inline if inline else (argv[i + 1] if i + 1 < len(argv) else "")
            if _FLAGS[key] == "bind":
                binds.append(value)
            else:
                values[_FLAGS[key]] = value
            i += 1 if inline else 2
            continue
        if not app and re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*(\(.*\))?", argv[i]):
            app = argv[i]
        i += 1

    def at_line(name: str) -> tuple[int, int] | None:
        return (int(values[name]), line) if values.get(name, "").isdigit() else None

    return GunicornConfig(
        path, origin, tuple((bind, line) for bind in binds), at_line("workers"), values.get("worker_class"),
        at_line("timeout"), app=app,
    )  # fmt: skip


def gunicorn_commands(path: Path, text: str, kind: str) -> Iterator[GunicornConfig]:
    """Gunicorn invocations in a Procfile, Dockerfile, compose file, systemd unit or shell script."""
    if "gunicorn" not in text:
        return
    for number, argv in commands(text, kind):
        # "sh -c 'gunicorn ...'", "exec gunicorn ...", "python -m gunicorn ...": start at the gunicorn word.
        for start, word in enumerate(argv):
            if Path(word).name == "gunicorn" or (word == "-m" and argv[start + 1 : start + 2] == ["gunicorn"]):
                if all(_launcher(w) for w in argv[:start]):  # not `pip install gunicorn`
                    yield gunicorn_options(path, kind, number, argv[start + 1 :])
                break
            if "gunicorn" in word and " " in word:  # sh -c "gunicorn ..." as one argument
                yield from gunicorn_commands(path, word, kind)
                break


def _launcher(word: str) -> bool:
    """Words that may come before the program in a command: exec, sh -c, env, uv run, VAR=value, ..."""
    return word in LAUNCHERS or "/" in word or bool(re.fullmatch(r"\w+=\S*|python[\d.]*", word))


CPU_COUNT = re.compile(r"cpu_count|sched_getaffinity")


def gunicorn_config_file(path: Path, tree: ast.Module) -> GunicornConfig:
    """bind/workers/worker_class/timeout in a gunicorn.conf.py: literal values, and the defaults
    of environment lookups (`os.getenv("PORT", "8000")`)."""
    binds: list[tuple[str, int]] = []
    workers = timeout = graceful = None
    worker_class = None
    from_cpus = False
    workers_env: tuple[str, ...] = ()
    cpu_names = {  # cores = multiprocessing.cpu_count()
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign) and CPU_COUNT.search(ast.unparse(node.value))
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        name, value = node.targets[0].id, node.value
        number = value.value if isinstance(value, ast.Constant) and type(value.value) is int else None
        if name == "bind":
            items = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
            binds += [(text, node.lineno) for item in items if (text := literal_text(item)) is not None]
        elif name == "workers" and number is not None:
            workers = (number, node.lineno)
        elif name == "workers":
            used = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
            from_cpus = bool(CPU_COUNT.search(ast.unparse(value))) or bool(used & cpu_names)
            workers_env = tuple(lookup[0] for n in ast.walk(value) if (lookup := env_lookup(n)) is not None)
        elif name == "graceful_timeout":
            text = literal_text(value)
            graceful = int(text) if text and text.isdigit() else None
        elif name == "worker_class":
            worker_class = literal_text(value) or "{?}"
        elif name == "timeout" and number is not None:
            timeout = (number, node.lineno)
    return GunicornConfig(
        path, "config", tuple(binds), workers, worker_class, timeout, graceful, from_cpus, workers_env
    )


def embedded_gunicorn(path: Path, tree: ast.Module) -> GunicornConfig:
    """Gunicorn run from Python (a `gunicorn.app.base.BaseApplication` subclass, e.g. a manage.py
    command): the worker class of its options mapping, Gunicorn's sync default when it sets none.
    Its bind and worker count are runtime values and are not read."""
    worker_class = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value in ("worker_class", "worker-class", "k"):
                    worker_class = literal_text(value) or "{?}"
    return GunicornConfig(path, "code", worker_class=worker_class)


def web_concurrency(text: str) -> Iterator[tuple[int, int]]:
    """WEB_CONCURRENCY (Gunicorn's default worker count) set to a number, or to a shell default
    (`WEB_CONCURRENCY=${WEB_CONCURRENCY:-16}`)."""
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.search(r"WEB_CONCURRENCY[\"']?\s*[=:]\s*[\"']?(?:\$\{\w+:?[-=])?(\d+)", line)
        if match:
            yield int(match.group(1)), number

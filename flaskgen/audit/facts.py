"""What a project is, read once from its files: the facts the audit's rules decide on.

`collect(root)` walks the tree once and parses each file it knows (Python modules, Gunicorn
settings, Nginx sites, command files); the rules (flaskgen.audit.rule_hits) never read a file.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flaskgen.audit.deploy_checks import (
    GunicornConfig,
    gunicorn_commands,
    gunicorn_config_file,
    parse_nginx,
    proxies,
    web_concurrency,
)

SKIP_DIRS = {
    ".git", ".venv", "venv", "env", "node_modules", "__pycache__", ".tox", ".nox", "build", "dist",
    "site-packages", ".mypy_cache", ".pytest_cache", ".ruff_cache", "htmlcov",
}  # fmt: skip
ASYNC_WORKERS = {"gevent", "eventlet", "tornado", "uvicorn.workers.UvicornWorker"}
PROXY_IMAGES = re.compile(r"image:\s*['\"]?(nginx|traefik|caddy|haproxy|envoyproxy)", re.IGNORECASE)


@dataclass(frozen=True)
class PythonModule:
    path: Path
    tree: ast.Module
    source: str


@dataclass(frozen=True)
class WorkerCount:
    """A worker count set outside Gunicorn's own settings (WEB_CONCURRENCY in an env or compose file)."""

    path: Path
    line: int
    count: int


@dataclass(frozen=True)
class NginxSite:
    path: Path
    parsed: list[dict[str, Any]]


@dataclass
class ProjectFacts:
    root: Path
    python: list[PythonModule] = field(default_factory=list)
    gunicorn: list[GunicornConfig] = field(default_factory=list)
    worker_counts: list[WorkerCount] = field(default_factory=list)
    nginx: list[NginxSite] = field(default_factory=list)
    """Nginx configs that proxy to an upstream (pure static sites are left out)."""
    proxy_in_front: bool = False
    """A reverse proxy is part of the project (an Nginx site that proxies, a proxy image in a
    compose file, a Caddyfile)."""

    @property
    def sync_workers(self) -> bool:
        """True unless some Gunicorn setting picks an async worker class (gevent, ...)."""
        return not ({config.effective_worker_class for config in self.gunicorn} & ASYNC_WORKERS)


def files(root: Path) -> Iterator[Path]:
    """Every file under root (or root itself), skipping virtualenvs, caches and build output."""
    if root.is_file():
        yield root
        return
    for directory, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(names):
            yield Path(directory) / name


def is_command_file(path: Path) -> bool:
    name = path.name.lower()
    return name.startswith(("procfile", "dockerfile", "compose", "docker-compose", "makefile")) or name.endswith(
        (".service", ".sh", ".dockerfile")
    )


def is_nginx_file(path: Path) -> bool:
    in_nginx_dir = bool({"nginx", "sites-available", "sites-enabled"} & set(path.parent.parts))
    return path.suffix == ".conf" or (in_nginx_dir and path.suffix not in (".py", ".md"))


def _read_python(facts: ProjectFacts, path: Path, text: str) -> None:
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError:
        return
    facts.python.append(PythonModule(path, tree, text))
    if "gunicorn" in path.name:
        facts.gunicorn.append(gunicorn_config_file(path, tree))


def _read_commands(facts: ProjectFacts, path: Path, text: str) -> None:
    facts.proxy_in_front = facts.proxy_in_front or bool(PROXY_IMAGES.search(text))
    facts.gunicorn += gunicorn_commands(path, text)
    facts.worker_counts += [WorkerCount(path, line, count) for count, line in web_concurrency(text)]


def collect(root: Path) -> ProjectFacts:
    """The facts of the project at root (a directory or one file)."""
    facts = ProjectFacts(root)
    for path in files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if path.suffix == ".py":
            _read_python(facts, path, text)
        elif is_nginx_file(path):
            parsed = parse_nginx(path)
            if parsed is not None and proxies(parsed):
                facts.proxy_in_front = True
                facts.nginx.append(NginxSite(path, parsed))
        if is_command_file(path):
            _read_commands(facts, path, text)
        if path.name.lower().startswith("caddyfile"):
            facts.proxy_in_front = True
    return facts

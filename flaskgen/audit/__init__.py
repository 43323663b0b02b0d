"""`flaskgen audit`: static checks for the production anti-patterns of WSGI Flask services.

    from flaskgen.audit import audit
    findings = audit("path/to/service", select=["FG3"], ignore=[])

Each finding has a stable code (see `rules.RULES`), a path and line, a message and a fix.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from flaskgen.audit.deploy_checks import (
    check_nginx,
    gunicorn_commands,
    is_public,
    parse_nginx,
    proxies,
    web_concurrency,
)
from flaskgen.audit.python_checks import Hit, check_python, gunicorn_settings
from flaskgen.audit.rules import BY_CODE, RULES
from flaskgen.errors import AuditError

__all__ = ["RULES", "Finding", "audit", "select_codes"]

SKIP_DIRS = {
    ".git", ".venv", "venv", "env", "node_modules", "__pycache__", ".tox", ".nox", "build", "dist",
    "site-packages", ".mypy_cache", ".pytest_cache", ".ruff_cache", "htmlcov",
}  # fmt: skip
ASYNC_WORKERS = {"gevent", "eventlet", "tornado", "uvicorn.workers.UvicornWorker"}
PROXY_IMAGES = re.compile(r"image:\s*['\"]?(nginx|traefik|caddy|haproxy|envoyproxy)", re.IGNORECASE)
DEFAULT_TARGET_CPUS = 8


@dataclass(frozen=True)
class Finding:
    code: str
    path: str
    line: int
    message: str

    @property
    def name(self) -> str:
        return BY_CODE[self.code].name

    @property
    def fix(self) -> str:
        return BY_CODE[self.code].fix

    def to_json(self) -> dict[str, object]:
        return {"code": self.code, "name": self.name, "path": self.path, "line": self.line,
                "message": self.message, "fix": self.fix}  # fmt: skip


def select_codes(select: Iterable[str] = (), ignore: Iterable[str] = ()) -> set[str]:
    """Codes to report: those matching a --select prefix (all when none), minus --ignore ones."""

    def expand(prefixes: Iterable[str], option: str) -> set[str]:
        codes: set[str] = set()
        for prefix in (p.strip().upper() for p in prefixes if p.strip()):
            matched = {code for code in BY_CODE if code.startswith(prefix)}
            if not matched:
                raise AuditError(f"{option} {prefix!r} matches no rule; valid codes: {', '.join(BY_CODE)}")
            codes |= matched
        return codes

    chosen = expand(select, "--select") or set(BY_CODE)
    return chosen - expand(ignore, "--ignore")


def _files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            yield Path(directory) / name


def _is_command_file(path: Path) -> bool:
    name = path.name.lower()
    return name.startswith(("procfile", "dockerfile", "compose", "docker-compose", "makefile")) or name.endswith(
        (".service", ".sh", ".dockerfile")
    )


def _is_nginx_file(path: Path) -> bool:
    in_nginx_dir = bool({"nginx", "sites-available", "sites-enabled"} & set(path.parent.parts))
    return path.suffix == ".conf" or (in_nginx_dir and path.suffix not in (".py", ".md"))


def audit(
    path: str | os.PathLike[str],
    *,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    target_cpus: int = DEFAULT_TARGET_CPUS,
) -> list[Finding]:
    """Every finding under path, sorted by file and line."""
    root = Path(path)
    if not root.exists():
        raise AuditError(f"{root} does not exist; give the path of a Flask project")
    codes = select_codes(select, ignore)
    base = root if root.is_dir() else root.parent
    hits: list[tuple[Path, Hit]] = []
    binds: list[tuple[Path, int, str]] = []
    workers: list[tuple[Path, int, int]] = []
    worker_classes: set[str] = set()
    nginx_configs: list[tuple[Path, list]] = []
    proxy_present = False

    for file in _files(root):
        try:
            text = file.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if file.suffix == ".py":
            try:
                tree = ast.parse(text, filename=str(file))
            except SyntaxError:
                continue
            hits += [(file, hit) for hit in check_python(file, tree, text)]
            if "gunicorn" in file.name:
                settings = gunicorn_settings(tree)
                binds += [(file, line, bind) for bind, line in settings.binds]
                if settings.workers:
                    workers.append((file, settings.workers[1], settings.workers[0]))
                worker_class = settings.worker_class or "sync"
                worker_classes.add(worker_class)
                if settings.timeout and settings.timeout[0] == 0 and worker_class == "sync":
                    hits.append((file, Hit("FG103", settings.timeout[1], "timeout = 0 with sync workers")))
        elif _is_nginx_file(file):
            parsed = parse_nginx(file)
            if parsed is not None and proxies(parsed):
                proxy_present = True
                nginx_configs.append((file, parsed))
        if _is_command_file(file):
            proxy_present = proxy_present or bool(PROXY_IMAGES.search(text))
            for command in gunicorn_commands(file, text):
                binds += [(file, command.line, bind) for bind in command.binds]
                if command.workers is not None:
                    workers.append((file, command.line, command.workers))
                worker_classes.add(command.worker_class or "sync")
                if command.timeout == 0 and (command.worker_class or "sync") == "sync":
                    hits.append((file, Hit("FG103", command.line, "--timeout 0 with sync workers")))
            workers += [(file, line, count) for count, line in web_concurrency(text)]
        if file.name.lower().startswith("caddyfile"):
            proxy_present = True

    sync_workers = not (worker_classes & ASYNC_WORKERS) if worker_classes else True
    for file, parsed in nginx_configs:
        hits += [(file, hit) for hit in check_nginx(parsed, sync_workers=sync_workers)]
    if not proxy_present:
        for file, line, bind in binds:
            if is_public(bind):
                hits.append((file, Hit("FG101", line, f"Gunicorn binds {bind} and the project has no reverse proxy")))
    limit = 2 * target_cpus + 1
    for file, line, count in workers:
        if count > limit:
            hits.append(
                (file, Hit("FG102", line, f"{count} workers for a {target_cpus}-CPU target (2 x CPU + 1 = {limit})"))
            )

    findings = {
        Finding(hit.code, file.relative_to(base).as_posix() if file != base else file.name, hit.line, hit.detail)
        for file, hit in hits
        if hit.code in codes
    }
    return sorted(findings, key=lambda f: (f.path, f.line, f.code))

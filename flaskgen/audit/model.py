"""What the audit talks about: a rule's hit and a finding, and the files a project is read into
(Python modules, worker counts, Nginx sites and main configs, command files)."""

from __future__ import annotations

import ast
import fnmatch
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

from flaskgen.audit.rules import BY_CODE

Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class Hit:
    code: str
    line: int
    detail: str
    path: Path | None = None
    """The file, when it is not the one the rule was looking at (an Nginx setting inherited from
    the main config an `include` reads the site into)."""


@dataclass(frozen=True)
class PythonModule:
    path: Path
    relative: PurePosixPath
    """Path inside its project."""
    tree: ast.Module
    source: str

    @cached_property
    def name(self) -> str:
        """Dotted module name inside the project (`src/` layouts dropped)."""
        parts = list(self.relative.with_suffix("").parts)
        if parts and parts[0] == "src":
            parts = parts[1:]
        if parts and parts[-1] == "__init__":
            parts = parts[:-1]
        return ".".join(parts)

    @property
    def is_package(self) -> bool:
        return self.relative.name == "__init__.py"


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


@dataclass(frozen=True)
class NginxMain:
    """A main Nginx config: its `http {}` settings, inherited by the files its `include`s read."""

    path: Path
    http: dict[str, dict[str, Any]]
    includes: list[str]

    def includes_file(self, site: Path) -> bool:
        """An include pattern names the site's file (`conf.d/*.conf`), and the site ships in the main
        config's folder tree (where it is copied from into Nginx's)."""
        return (
            site != self.path
            and site.is_relative_to(self.path.parent)
            and any(fnmatch.fnmatch(site.name, pattern.rsplit("/", 1)[-1]) for pattern in self.includes)
        )


@dataclass(frozen=True)
class CommandFile:
    """A file that starts processes: Dockerfile, compose file, Procfile, systemd unit, shell script."""

    path: Path
    relative: PurePosixPath
    text: str
    """What production runs (of a multi-stage Dockerfile, the stages its image is made of)."""
    kind: str
    """"dockerfile", "compose", "procfile", "systemd", "supervisor", "script" or "makefile"."""
    production: bool
    """False for dev/test/example variants (compose.dev.yaml, Dockerfile.local, a plain compose
    file next to a compose.prod.yaml, a Dockerfile only development compose files build, ...)."""
    development: str = ""
    """What only development runs, when text leaves it out (a Dockerfile's `dev` stage)."""


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


@dataclass(frozen=True)
class AuditReport:
    findings: list[Finding]
    skipped: list[tuple[str, str]]
    """(path, reason) of files that could not be read or parsed."""

"""`flaskgen audit`: static checks for the production anti-patterns of WSGI Flask services.

    from flaskgen.audit import audit
    findings = audit("path/to/service", select=["FG3"], ignore=[])

Each finding has a stable code (see `rules.RULES`), a path and line, a message and a fix.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from flaskgen.audit.deploy_checks import GunicornConfig, check_nginx, is_public
from flaskgen.audit.facts import ProjectFacts, collect
from flaskgen.audit.python_checks import Hit, check_python
from flaskgen.audit.rules import BY_CODE, RULES
from flaskgen.errors import AuditError

__all__ = ["RULES", "Finding", "audit", "select_codes"]

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


def gunicorn_hits(config: GunicornConfig, facts: ProjectFacts, target_cpus: int) -> Iterator[Hit]:
    """FG101 (public bind with no proxy), FG102 (too many workers), FG103 (sync, no timeout)."""
    if not facts.proxy_in_front:
        for bind, line in config.binds:
            if is_public(bind):
                yield Hit("FG101", line, f"Gunicorn binds {bind} and the project has no reverse proxy")
    yield from too_many_workers(config.workers, target_cpus)
    if config.timeout and config.timeout[0] == 0 and config.effective_worker_class == "sync":
        setting = "timeout = 0" if config.origin == "config" else "--timeout 0"
        yield Hit("FG103", config.timeout[1], f"{setting} with sync workers")


def too_many_workers(workers: tuple[int, int] | None, target_cpus: int) -> Iterator[Hit]:
    limit = 2 * target_cpus + 1
    if workers is not None and workers[0] > limit:
        yield Hit("FG102", workers[1], f"{workers[0]} workers for a {target_cpus}-CPU target (2 x CPU + 1 = {limit})")


def rule_hits(facts: ProjectFacts, target_cpus: int) -> Iterator[tuple[Path, Hit]]:
    """Every rule applied to the project's facts."""
    for module in facts.python:
        yield from ((module.path, hit) for hit in check_python(module.path, module.tree, module.source))
    for config in facts.gunicorn:
        yield from ((config.path, hit) for hit in gunicorn_hits(config, facts, target_cpus))
    for count in facts.worker_counts:
        yield from ((count.path, hit) for hit in too_many_workers((count.count, count.line), target_cpus))
    for site in facts.nginx:
        yield from ((site.path, hit) for hit in check_nginx(site.parsed, sync_workers=facts.sync_workers))


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
    findings = {
        Finding(hit.code, file.relative_to(base).as_posix() if file != base else file.name, hit.line, hit.detail)
        for file, hit in rule_hits(collect(root), target_cpus)
        if hit.code in codes
    }
    return sorted(findings, key=lambda f: (f.path, f.line, f.code))

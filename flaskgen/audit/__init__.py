"""`flaskgen audit`: static checks for the production anti-patterns of WSGI Flask services.

    from flaskgen.audit import audit
    findings = audit("path/to/service", select=["FG3"], ignore=[])

Each finding has a stable code (see `rules.RULES`), a path and line, a message and a fix. The
package is in layers, each importing only those below it: `rules` and `paths` (vocabulary),
`model` (findings, hits, what a file is), `ast_tools`, `parsers/` (Gunicorn, Nginx, command files,
compose, Kubernetes), `facts` (a project read once), `index` (a project's Python modules and its
request code), `checks/` (the rule families), this module (`run_audit`), and `report`/`baseline`
on top."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from flaskgen.audit.checks import rule_hits
from flaskgen.audit.facts import collect
from flaskgen.audit.model import AuditReport, Finding
from flaskgen.audit.rules import BY_CODE, RULES
from flaskgen.errors import AuditError

__all__ = ["RULES", "AuditReport", "Finding", "audit", "run_audit", "select_codes"]


DEFAULT_TARGET_CPUS = 8


def select_codes(select: Iterable[str] = (), ignore: Iterable[str] = ()) -> set[str]:
    """Codes to report: those matching a --select prefix (`ALL` for every rule), else the default
    set (every rule but the opt-in ones), minus --ignore ones."""

    def expand(prefixes: Iterable[str], option: str) -> set[str]:
        codes: set[str] = set()
        for prefix in (p.strip().upper() for p in prefixes if p.strip()):
            matched = set(BY_CODE) if prefix == "ALL" else {code for code in BY_CODE if code.startswith(prefix)}
            if not matched:
                raise AuditError(f"{option} {prefix!r} matches no rule; valid: ALL, {', '.join(BY_CODE)}")
            codes |= matched
        return codes

    chosen = expand(select, "--select") or {rule.code for rule in RULES if not rule.opt_in}
    return chosen - expand(ignore, "--ignore")


def run_audit(
    path: str | os.PathLike[str],
    *,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    target_cpus: int = DEFAULT_TARGET_CPUS,
) -> AuditReport:
    """Every finding under path (each project in it audited on its own facts), sorted by file,
    line, code and message, and the files that were skipped."""
    root = Path(path)
    if not root.exists():
        raise AuditError(f"{root} does not exist; give the path of a Flask project")
    codes = select_codes(select, ignore)
    base = root if root.is_dir() else root.parent

    def shown(file: Path) -> str:
        return file.relative_to(base).as_posix() if file != base else file.name

    findings: set[Finding] = set()
    skipped: list[tuple[str, str]] = []
    for facts in collect(root):
        findings.update(
            Finding(hit.code, shown(file), hit.line, hit.detail)
            for file, hit in rule_hits(facts, target_cpus)
            if hit.code in codes
        )
        skipped += [(shown(file), reason) for file, reason in facts.skipped]
    return AuditReport(sorted(findings, key=lambda f: (f.path, f.line, f.code, f.message)), sorted(skipped))


def audit(
    path: str | os.PathLike[str],
    *,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    target_cpus: int = DEFAULT_TARGET_CPUS,
) -> list[Finding]:
    """Every finding under path, sorted by file, line, code and message."""
    return run_audit(path, select=select, ignore=ignore, target_cpus=target_cpus).findings

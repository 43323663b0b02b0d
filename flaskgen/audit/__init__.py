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

from flaskgen.audit.deploy_checks import (
    LOOPBACK_HOSTS,
    GunicornConfig,
    check_nginx,
    dev_server_lines,
    is_platform_port,
    is_public,
    split_bind,
    started_scripts,
)
from flaskgen.audit.facts import CommandFile, ProjectFacts, collect
from flaskgen.audit.kube_checks import check_kubernetes
from flaskgen.audit.python_checks import Hit, ProjectIndex, check_project, dependency_paths
from flaskgen.audit.rules import BY_CODE, RULES
from flaskgen.errors import AuditError

__all__ = ["RULES", "AuditReport", "Finding", "audit", "run_audit", "select_codes"]

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


def gunicorn_hits(config: GunicornConfig, facts: ProjectFacts, target_cpus: int) -> Iterator[Hit]:
    """FG101 (Gunicorn reachable past the proxy, or with none), FG102 (too many workers), FG103
    (sync, no timeout)."""
    for bind, line in config.binds:
        # In a container 0.0.0.0 is required (the published ports decide what is reachable); on
        # $PORT the platform's router is the proxy.
        if (
            not is_public(bind)
            or is_platform_port(bind)
            or (facts.containerised and config.origin not in ("systemd", "supervisor"))
        ):
            continue
        port = split_bind(bind)[1]
        if not facts.proxy_in_front:
            yield Hit("FG101", line, f"Gunicorn binds {bind} and the project has no reverse proxy in front of it")
            continue
        behind = sorted(a for a in facts.upstreams if split_bind(a)[0] in LOOPBACK_HOSTS and split_bind(a)[1] == port)
        if behind:
            yield Hit("FG101", line, f"Gunicorn binds {bind} but the proxy reaches it on {behind[0]}: "
                                     "the port is open past the proxy")  # fmt: skip
    yield from too_many_workers(config.workers, target_cpus)
    if config.timeout and config.timeout[0] == 0 and config.effective_worker_class == "sync":
        setting = "timeout = 0" if config.origin == "config" else "--timeout 0"
        yield Hit("FG103", config.timeout[1], f"{setting} with sync workers")


def published_past_the_proxy(facts: ProjectFacts) -> Iterator[tuple[Path, Hit]]:
    """FG101: a compose file runs the proxy and also publishes, on the host, the port the proxy
    reaches Gunicorn on (`5000:5000` next to Nginx's `proxy_pass http://web:5000`)."""
    gunicorn_ports = {split_bind(bind)[1] for config in facts.gunicorn for bind, _line in config.binds}
    upstreams = {split_bind(address) for address in facts.upstreams}
    for path, compose in facts.compose:
        if not compose.proxies:
            continue
        for port in compose.published:
            if port.host_ip in LOOPBACK_HOSTS or not port.target.isdigit():
                continue
            if (port.service, port.target) in upstreams or port.target in gunicorn_ports:
                message = f"{port.service}'s port {port.target} (Gunicorn) is published next to the proxy"
                yield path, Hit("FG101", port.line, f"{message} ({compose.proxies[0]}): it is open past the proxy")


def too_many_workers(workers: tuple[int, int] | None, target_cpus: int) -> Iterator[Hit]:
    limit = 2 * target_cpus + 1
    if workers is not None and workers[0] > limit:
        yield Hit("FG102", workers[1], f"{workers[0]} workers for a {target_cpus}-CPU target (2 x CPU + 1 = {limit})")


ENTRYPOINT_STEMS = {"entrypoint", "docker-entrypoint", "boot", "start", "run", "serve", "server", "startup"}


def production_commands(facts: ProjectFacts) -> list[CommandFile]:
    """Production command files; a shell script only when it is an entrypoint (named like one, or
    named by another production command file), and not when only development files run it (a
    `start.sh` that just `compose.dev.yaml` names)."""
    chosen = [c for c in facts.commands if c.production and c.kind != "script"]
    named = " ".join(c.text for c in chosen)
    named_by_dev = " ".join(c.text for c in facts.commands if not c.production and c.kind != "script")
    return chosen + [
        c
        for c in facts.commands
        if c.production
        and c.kind == "script"
        and (c.path.name in named or (c.path.stem.lower() in ENTRYPOINT_STEMS and c.path.name not in named_by_dev))
    ]


def started_modules(facts: ProjectFacts, commands: list[CommandFile]) -> set[str]:
    """Project-relative paths of the Python files production commands run directly (`python wsgi.py`)."""
    modules = [m.relative.as_posix() for m in facts.python]
    started: set[str] = set()
    for command in commands:
        for _line, script in started_scripts(command.text, command.kind):
            wanted = script.lstrip("./")
            started.update(m for m in modules if m == wanted or m.endswith("/" + wanted) or wanted.endswith("/" + m))
    return started


def rule_hits(facts: ProjectFacts, target_cpus: int) -> Iterator[tuple[Path, Hit]]:
    """Every rule applied to one project's facts."""
    commands = production_commands(facts)
    index = ProjectIndex(facts.python)
    yield from check_project(index, started_modules(facts, commands))
    for config in facts.gunicorn:
        yield from ((config.path, hit) for hit in gunicorn_hits(config, facts, target_cpus))
    yield from published_past_the_proxy(facts)
    for count in facts.worker_counts:
        yield from ((count.path, hit) for hit in too_many_workers((count.count, count.line), target_cpus))
    for site in facts.nginx:
        main = next((m for m in facts.nginx_main if m.includes_file(site.path)), None)
        outer = (main.http, main.path) if main is not None else ({}, None)
        hits = check_nginx(site.parsed, sync_workers=facts.sync_workers, outer=outer[0], outer_path=outer[1])
        yield from ((hit.path or site.path, hit) for hit in hits)
    for command in commands:
        yield from ((command.path, hit) for hit in dev_server_lines(command.text, command.kind))
    if facts.kube:
        yield from check_kubernetes(
            facts.kube,
            [config for config in facts.gunicorn if config.origin == "config"],
            image=[config for config in facts.gunicorn if config.origin in ("dockerfile", "script")],
            dependency_paths=dependency_paths(index),
        )


@dataclass(frozen=True)
class AuditReport:
    findings: list[Finding]
    skipped: list[tuple[str, str]]
    """(path, reason) of files that could not be read or parsed."""


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

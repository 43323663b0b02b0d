"""The rule families applied to one project's facts (`rule_hits`), and the code rules to its index
(`check_project`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from flaskgen.audit.checks.blocking import blocking_hits, dependency_paths
from flaskgen.audit.checks.commands import dev_server_lines, production_commands, started_modules
from flaskgen.audit.checks.config import app_at_import, dev_server_hits, started_dev_server, unsafe_config
from flaskgen.audit.checks.gunicorn import gunicorn_hits, published_past_the_proxy, too_many_workers
from flaskgen.audit.checks.kubernetes import check_kubernetes
from flaskgen.audit.checks.log_handlers import blocking_logging
from flaskgen.audit.checks.nginx import check_nginx
from flaskgen.audit.checks.state import context_pushes, nested_context_pushes, shared_state_hits
from flaskgen.audit.facts import ProjectFacts
from flaskgen.audit.index import ProjectIndex
from flaskgen.audit.model import Hit


def check_project(
    index: ProjectIndex, started: set[str], *, async_workers: bool = False, all_read: bool = True
) -> Iterator[tuple[Path, Hit]]:
    """The code rules on one project's modules (tests, fixtures, docs and examples are exempt).
    `started`: project-relative paths of Python files production command files run directly;
    `async_workers`: Gunicorn runs gevent/eventlet workers (a sleep yields there); `all_read`: every
    Python file was read (none skipped whole), so code nothing mentions is dead."""
    # Shared state changed by request code, or by a helper it calls (`stats.add_request()`).
    yield from shared_state_hits(index)
    yield from context_pushes(index)
    for info in index.modules.values():
        if not info.is_service_code:
            continue
        yield from ((info.path, hit) for hit in nested_context_pushes(info.nodes))
        yield from ((info.path, hit) for hit in unsafe_config(info))
        yield from ((info.path, hit) for hit in app_at_import(info, index))
        yield from ((info.path, hit) for hit in blocking_logging(info))
        yield from ((info.path, hit) for hit in dev_server_hits(info, index))
    yield from started_dev_server(index, started)
    yield from blocking_hits(index, async_workers=async_workers, all_read=all_read)


def rule_hits(facts: ProjectFacts, target_cpus: int) -> Iterator[tuple[Path, Hit]]:
    """Every rule applied to one project's facts."""
    commands = production_commands(facts)
    index = ProjectIndex(facts.python)
    all_read = not any(path.suffix == ".py" and not reason.startswith("line") for path, reason in facts.skipped)
    yield from check_project(
        index, started_modules(facts, commands), async_workers=facts.cooperative_workers, all_read=all_read
    )
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
            images=facts.images,
            # Only a manifest has a liveness probe to judge (a chart's values.yaml has none).
            dependency_paths=dependency_paths(index) if any(d.kind != "HelmValues" for d in facts.kube) else {},
        )

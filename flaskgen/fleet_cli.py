"""`flaskgen fleet status|update`: the command line over flaskgen.fleet (added to the app by
flaskgen.cli). Heavy imports (the fleet engine, rich) happen inside the commands, as in cli.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from flaskgen.cli_edge import errors_reported, wide_console

if TYPE_CHECKING:
    from flaskgen.fleet import Progress, RepoStatus

__all__ = ["fleet_app"]

fleet_app = typer.Typer(
    help="Where every service of the organisation stands, and update branches for all of them.",
    no_args_is_help=True,
)
ManifestArg = Annotated[
    Path, typer.Argument(help="One repository per line: a git URL or path, optionally a branch after a space.")
]
JobsOpt = Annotated[
    int | None, typer.Option("--jobs", "-j", min=1, help="Repositories in parallel (default: the CPU count).")
]
CacheOpt = Annotated[Path | None, typer.Option("--cache", help="Where clones go (default: ~/.cache/flaskgen/fleet).")]


@contextmanager
def _progress(label: str) -> Iterator[Progress | None]:
    """A progress callback: a bar on a terminal, nothing when stderr is piped."""
    import sys

    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress as Bar

    with Bar(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@fleet_app.command("status")
def fleet_status(
    ctx: typer.Context,
    manifest: ManifestArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for tools.")] = False,
    html: Annotated[Path | None, typer.Option("--html", help="Also write a self-contained HTML report.")] = None,
    preset: Annotated[
        Path | None, typer.Option("--preset", help="Report answers that contradict its [locked].")
    ] = None,
    jobs: JobsOpt = None,
    cache: CacheOpt = None,
    target_cpus: Annotated[int, typer.Option("--target-cpus", min=1, help="CPUs of the production hosts.")] = 8,
) -> None:
    """Template version, releases behind, drift, audit findings and preset violations of every repository.
    Exit 0 when all are current, compliant and audit-clean, 1 otherwise, 2 for a bad manifest."""
    from flaskgen import fleet
    from flaskgen.presets import load_preset

    with errors_reported(ctx):
        entries = fleet.read_manifest(manifest)
        loaded = load_preset(preset) if preset else None
        with _progress("reading repositories") as progress:
            repos = fleet.status(
                entries, preset=loaded, jobs=jobs, cache=cache, target_cpus=target_cpus, progress=progress
            )
        if html is not None:
            html.write_text(fleet.as_html(repos), encoding="utf-8")
    if as_json:
        typer.echo(fleet.as_json(repos), nl=False)
    else:
        _print_fleet(repos, fleet.summary(repos))
    raise typer.Exit(code=0 if all(repo.clean for repo in repos) else 1)


def _print_fleet(repos: list[RepoStatus], totals: dict[str, int]) -> None:
    from rich.table import Table

    table = Table("repository", "status", "version", "behind", "drift", "audit", "preset", "error")
    for r in repos:
        version = r.current_version or (r.current_commit or "")[:12]
        if r.status == "behind":
            version += f" -> {r.latest_version or (r.latest_commit or '')[:12]}"
        table.add_row(
            r.repo,
            r.status,
            version,
            "" if r.releases_behind is None else str(r.releases_behind),
            str(len(r.drift)) if r.drift else "",
            " ".join(f"{code}x{count}" for code, count in r.audit.items()),
            " ".join(f"{v['key']}={v['actual']}!={v['expected']}" for v in r.preset_violations),
            r.error or "",
        )
    wide_console().print(table)
    typer.echo(", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in totals.items()))


@fleet_app.command("update")
def fleet_update(
    ctx: typer.Context,
    manifest: ManifestArg,
    branch: Annotated[str, typer.Option("--branch", help="The branch to create in each repository that is behind.")],
    to: Annotated[str | None, typer.Option("--to", help="A release (vX.Y.Z) or HEAD; default the newest.")] = None,
    push: Annotated[bool, typer.Option("--push", help="Push each branch to its repository's origin.")] = False,
    preset: Annotated[Path | None, typer.Option("--preset", help="Answers for new variables, locks.")] = None,
    jobs: JobsOpt = None,
    cache: CacheOpt = None,
) -> None:
    """A branch with the template update committed in every repository that is behind (conflicts
    committed with their markers and listed). Exit 0 when every branch is clean, 1 otherwise."""
    from rich.table import Table

    from flaskgen import fleet
    from flaskgen.presets import load_preset

    with errors_reported(ctx):
        entries = fleet.read_manifest(manifest)
        loaded = load_preset(preset) if preset else None
        with _progress("updating repositories") as progress:
            results = fleet.update(
                entries, branch=branch, to=to, push=push, preset=loaded, jobs=jobs, cache=cache, progress=progress
            )
    table = Table("repository", "result", "from", "to", "branch", "pushed", "conflicts / error", "work tree")
    for r in results:
        detail = r.error or " ".join(r.conflicts)
        table.add_row(r.repo, r.action, str(r.from_version or "")[:12], str(r.to_version or "")[:12],
                      r.branch or "", "yes" if r.pushed else "", detail, r.workdir or "")  # fmt: skip
    wide_console().print(table)
    counts = {
        action: sum(r.action == action for r in results) for action in ("updated", "conflicts", "current", "error")
    }
    typer.echo(", ".join(f"{action}: {count}" for action, count in counts.items()))
    raise typer.Exit(code=1 if counts["conflicts"] or counts["error"] else 0)

"""The `flaskgen` command line: parse, call the core API, map errors to exit codes.

Every command runs inside `_errors_reported()` (flaskgen.cli_edge, shared with the `fleet`
commands of flaskgen.fleet_cli), the one place where errors become exit codes (copier's
`_handle_exceptions`); `--debug` is an option of the app, before the command.
Heavy imports (cookiecutter, rich) happen inside the commands so `flaskgen --help` and shell
completion stay fast (cookiecutter.prompt alone costs ~80 ms).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flaskgen import __version__
from flaskgen.backstage import Publisher
from flaskgen.cli_edge import errors_reported as _errors_reported
from flaskgen.errors import AuditError, InvalidAnswer
from flaskgen.fleet_cli import fleet_app

if TYPE_CHECKING:
    from flaskgen.project import Target

app = typer.Typer(
    name="flaskgen",
    help="Generate production-ready Flask services from one Cookiecutter template.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"flaskgen {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit."),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks (before the command).")] = False,
) -> None:
    """Generate production-ready Flask services from one Cookiecutter template."""
    ctx.obj = debug


app.add_typer(fleet_app, name="fleet")


def parse_assignments(items: Iterable[str], *, origin: str = "--set") -> dict[str, str]:
    """`["database=postgresql", ...]` -> `{"database": "postgresql"}`."""
    parsed: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InvalidAnswer(f"{origin} {item!r} is not KEY=VALUE; write e.g. {origin} database=postgresql")
        parsed[key] = value.strip()
    return parsed


TemplateOpt = Annotated[
    str | None,
    typer.Option("--template", help="Template path or git URL (default: the bundled template)."),
]
CheckoutOpt = Annotated[str | None, typer.Option("--checkout", help="Branch, tag or commit of a git --template.")]
PresetOpt = Annotated[
    Path | None,
    typer.Option("--preset", help="Organisation preset (TOML); default $FLASKGEN_PRESET or the user file."),
]


@app.command()
def new(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Project name (fills project_name).")] = None,
    no_input: Annotated[bool, typer.Option("--no-input", help="Do not prompt; use defaults.")] = False,
    assignments: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="KEY=VALUE", help="Answer a variable (repeatable)."),
    ] = None,
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", help="Where to create the project.")] = Path("."),
    template: TemplateOpt = None,
    checkout: CheckoutOpt = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Write into an existing project directory.")] = False,
    git: Annotated[bool, typer.Option("--git/--no-git", help="git init and commit the new project.")] = True,
    lock: Annotated[
        bool, typer.Option("--lock/--no-lock", help="Lock the dependencies (uv.lock) when uv is installed.")
    ] = True,
    preset: PresetOpt = None,
) -> None:
    """Create a new Flask service."""
    from flaskgen.generate import generate_project
    from flaskgen.presets import load_preset

    with _errors_reported(ctx):
        result = generate_project(
            preset=load_preset(preset),
            template=template,
            checkout=checkout,
            name=name,
            overrides=parse_assignments(assignments or []),
            no_input=no_input,
            output_dir=output_dir,
            overwrite=overwrite,
            git=git and shutil.which("git") is not None,
            lock=lock,
        )
    _print_summary(result.project_dir, result.files)


def _print_summary(project_dir: Path, files: tuple[str, ...]) -> None:
    from rich.console import Console
    from rich.tree import Tree

    console = Console()
    try:
        shown = project_dir.relative_to(Path.cwd())
    except ValueError:
        shown = project_dir
    tree = Tree(f"[bold]{shown}/[/]  ({len(files)} files)")
    top: dict[str, int] = {}
    for file in files:
        head = file.split("/", 1)[0] + ("/" if "/" in file else "")
        top[head] = top.get(head, 0) + 1
    for head, count in sorted(top.items(), key=lambda item: (not item[0].endswith("/"), item[0])):
        tree.add(f"{head}  [dim]({count} files)[/]" if head.endswith("/") else head)
    console.print(tree)
    console.print("\nNext steps:")
    console.print(f"  cd {shown}")
    console.print("  make test      # creates .venv, installs, runs the tests")
    migrates = "applies the migrations, then " if "migrations/" in top else ""
    console.print(f"  make dev       # {migrates}flask development server")


@app.command()
def options(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    template: TemplateOpt = None,
    checkout: CheckoutOpt = None,
) -> None:
    """List every template variable with its choices and default."""
    from flaskgen.template import load_template_options

    with _errors_reported(ctx):
        opts = load_template_options(template, checkout)
    if as_json:
        typer.echo(json.dumps([opt.to_json() for opt in opts.values()], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("option", "default", "choices", "prompt")
    for opt in opts.values():
        choices = ", ".join(map(_show, opt.choices)) if opt.choices else f"({opt.kind})"
        table.add_row(opt.name, _show(opt.default), choices, opt.prompt)
    Console().print(table)


def _show(value: Any) -> str:
    """Booleans as the yes/no a user types in --set."""
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


@app.command()
def backstage(
    ctx: typer.Context,
    preset: PresetOpt = None,
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", help="Where template.yaml goes.")] = Path("."),
    publish: Annotated[
        Publisher | None,
        typer.Option(
            "--publish", help="Where Backstage creates the repository (default: the preset's ci, else github)."
        ),
    ] = None,
    template: TemplateOpt = None,
    checkout: CheckoutOpt = None,
) -> None:
    """Write a Backstage software template (template.yaml) that offers this template in the portal."""
    from flaskgen.backstage import ANSWERS_TEMPLATE, software_template, write_software_template
    from flaskgen.presets import load_preset

    with _errors_reported(ctx):
        document = software_template(
            template=template, checkout=checkout, preset=load_preset(preset), publisher=publish
        )
        path = write_software_template(document, output_dir)
    typer.echo(
        f"wrote {path} and {ANSWERS_TEMPLATE} beside it; register {path.name} in Backstage as a catalog location"
    )


ProjectArg = Annotated[Path, typer.Argument(help="The project directory.")]
TemplateOverride = Annotated[
    str | None, typer.Option("--template", help="Template git URL or path (default: the recorded one).")
]


def _position(target: Target) -> str:
    """ "0.1.0 -> 0.2.0 (1 release behind)" with releases, else "abc123 -> def456" (commits)."""
    if target.releases_behind is None:
        return f"{str(target.current_commit)[:12]} -> {str(target.latest_commit)[:12]}"
    current = target.current_version or f"{str(target.current_commit)[:12]} (before any release)"
    plural = "" if target.releases_behind == 1 else "s"
    return f"{current} -> {target.latest_version} ({target.releases_behind} release{plural} behind)"


@app.command()
def check(
    ctx: typer.Context,
    project: ProjectArg = Path("."),
    checkout: Annotated[str | None, typer.Option("--checkout", help="Compare with this branch/tag instead.")] = None,
    template: TemplateOverride = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (for CI dashboards).")] = False,
) -> None:
    """Exit 0 when the project is on the newest template release (commit, without releases), 1 when behind."""
    from flaskgen.project import check as check_project

    with _errors_reported(ctx):
        result = check_project(project, template=template, checkout=checkout)
    target = result.target
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
    elif result.up_to_date:
        at = target.current_version or str(target.current_commit)[:12]
        typer.echo(f"up to date with {target.template} at {at}")
    else:
        typer.echo(f"behind: template {target.template} {_position(target)}")
        for section in target.changelog:
            typer.echo(f"\n## [{section['version']}]\n{section['text']}\n")
        for label, paths in (("added", result.added), ("removed", result.removed), ("modified", result.modified)):
            for path in paths:
                typer.echo(f"  {label:<8} {path}")
        typer.echo("run `flaskgen update` to apply")
    raise typer.Exit(code=0 if result.up_to_date else 1)


@app.command("diff")
def diff_command(ctx: typer.Context, project: ProjectArg = Path("."), template: TemplateOverride = None) -> None:
    """Show what the project changed relative to its recorded template version and answers."""
    from flaskgen.project import diff as diff_project

    with _errors_reported(ctx):
        text = diff_project(project, template=template)
    typer.echo(text, nl=False)


@app.command()
def update(
    ctx: typer.Context,
    project: ProjectArg = Path("."),
    to: Annotated[
        str | None, typer.Option("--to", help="A release (vX.Y.Z) or HEAD; default: the newest release.")
    ] = None,
    checkout: Annotated[str | None, typer.Option("--checkout", help="Follow this branch instead.")] = None,
    template: TemplateOverride = None,
    assignments: Annotated[
        list[str] | None, typer.Option("--set", metavar="KEY=VALUE", help="Change an answer (repeatable).")
    ] = None,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Do not prompt; new variables take their defaults.")
    ] = False,
    preset: PresetOpt = None,
    allow_dirty: Annotated[
        bool, typer.Option("--allow-dirty", help="Run on a git tree with uncommitted changes.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the changes; write nothing.")] = False,
) -> None:
    """Bring the project to the newest template release with a three-way merge (exit 1 on conflicts)."""
    from flaskgen.presets import load_preset
    from flaskgen.project import update as update_project

    with _errors_reported(ctx):
        result = update_project(
            project,
            template=template,
            checkout=checkout,
            to=to,
            overrides=parse_assignments(assignments or []),
            preset=load_preset(preset),
            no_input=no_input,
            allow_dirty=allow_dirty,
            dry_run=dry_run,
        )
    if dry_run:
        typer.echo(result.diff, nl=False)
    rows = [
        ("migrated", result.migrated),
        ("updated", result.updated),
        ("added", result.added),
        ("removed", result.removed),
        ("merged", result.merged),
        ("CONFLICT", result.conflicts),
        ("kept", result.kept),
        ("skipped", result.skipped),
        ("ignored", result.ignored),
    ]
    if not result.changed:
        typer.echo(f"already up to date at {result.target.current_version or str(result.target.current_commit)[:12]}")
    else:
        typer.echo(f"{'would update' if dry_run else 'updated'} {_position(result.target)}")
    for version in result.migrations:
        typer.echo(f"  ran the {version} migration")
    for key, value in result.new_answers.items():
        typer.echo(f"  new answer {key} = {_show(value)}")
    for key in result.dropped_answers:
        typer.echo(f"  dropped answer {key} (the template no longer has it)")
    for label, paths in rows:
        for path in paths:
            typer.echo(f"  {label:<8} {path}")
    if result.relocked:
        typer.echo("  relocked uv.lock (uv lock: pins kept where pyproject.toml still allows them)")
    if result.lock_problem:
        typer.echo(f"note: {result.lock_problem}")
    if result.kept:
        typer.echo("kept: the new template no longer makes these files, but you changed them")
    if result.skipped:
        typer.echo("skipped: you deleted these files; the template changed them")
    if result.ignored:
        typer.echo(f"ignored: the skip list in {_answers_file()} protects these files")
    if result.conflicts:
        typer.echo(f"{len(result.conflicts)} conflict(s): resolve the <<<<<<< markers, then commit")
        raise typer.Exit(code=1)


def _answers_file() -> str:
    from flaskgen.project import answers_file

    return answers_file()


class OutputFormat(StrEnum):
    """`flaskgen audit --format`: text for people, json for scripts, sarif for code scanning,
    github for workflow annotations."""

    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


@app.command("audit")
def audit_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Project directory (or one file).")] = Path("."),
    output_format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.text,
    select: Annotated[
        list[str] | None, typer.Option("--select", help="Only these codes/prefixes (repeatable).")
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option("--ignore", help="Skip these codes/prefixes (repeatable).")
    ] = None,
    target_cpus: Annotated[int, typer.Option("--target-cpus", min=1, help="CPUs of the production host.")] = 8,
    baseline: Annotated[
        Path | None,
        typer.Option("--baseline", help="Report only findings not in FILE; a missing FILE records today's findings."),
    ] = None,
    update_baseline: Annotated[
        bool, typer.Option("--update-baseline", help="Rewrite the --baseline FILE with today's findings.")
    ] = False,
) -> None:
    """Find production anti-patterns in a Flask project: exit 0 clean, 1 with findings, 2 on error."""
    from flaskgen.audit import AuditReport, run_audit
    from flaskgen.audit.baseline import new_findings, read_baseline, write_baseline
    from flaskgen.audit.report import FORMATS

    with _errors_reported(ctx):
        if update_baseline and baseline is None:
            raise AuditError("--update-baseline needs --baseline FILE; name the baseline to rewrite")
        codes = [code for value in (select or []) for code in value.split(",")]
        skipped = [code for value in (ignore or []) for code in value.split(",")]
        report = run_audit(path, select=codes, ignore=skipped, target_cpus=target_cpus)
        recording = baseline is not None and (update_baseline or not baseline.exists())
        if baseline is not None and recording:
            write_baseline(baseline, report.findings)
        elif baseline is not None:
            report = AuditReport(new_findings(report.findings, read_baseline(baseline)), report.skipped)
    if recording:
        typer.echo(f"recorded {len(report.findings)} finding(s) in {baseline}; later runs report only new ones")
        raise typer.Exit(code=0)
    typer.echo(FORMATS[output_format.value](report, path), nl=False)
    raise typer.Exit(code=1 if report.findings else 0)

"""Existing projects: `check` (is it behind its template?), `diff` (what did the project change?)
and `update` (bring it to a newer template version with a three-way merge).

The answers file is cruft's `.cruft.json` (template, commit, checkout, context, directory, skip),
so cruft's own `check`/`update` also work on flaskgen projects, and flaskgen's on cruft's.

Versions: when the template repository has `vX.Y.Z` tags (flaskgen.releases), a project is on
the newest release its recorded commit contains, `check` compares it with the newest release and
shows the CHANGELOG.md sections in between, and `update` moves to the newest release (or
`to=`). Without tags both speak in commits of the followed branch.

How update merges: render the template twice into temporary directories — at the recorded
commit with the recorded answers ("base") and at the target commit with the new answers
("theirs") — then merge each file into the project ("ours") with `git merge-file`, the same
three-way merge git uses. Files the user never touched simply take the new version; changes
on both sides that do not overlap are combined; overlapping ones get standard conflict markers
and are reported. This works per file, needs no shared history between the project and the
template, and leaves the user's own files (not produced by the template) alone. Before the
merge, the release migrations crossed (`migrations/X.Y.Z.py` beside the template's
cookiecutter.json, each a `migrate(project_dir, answers)`) run on the project and on the base
render alike, so a file the template moved carries the user's edits to its new place.
Paths matched by the answers file's `skip` list (and `[tool.cruft] skip` in pyproject.toml)
are never touched, matched exactly as cruft matches them. `uv.lock` is the project's own state,
never rendered, compared or merged; after an update that changed pyproject.toml (or on a project
from before the template locked) `update` refreshes it with the template's own `uv lock` step.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import os
import shutil
import tempfile
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from flaskgen import git
from flaskgen.answers import AnswersMap, coerce_answers
from flaskgen.errors import InvalidAnswer, ProjectError, TemplateError
from flaskgen.generate import render, resolve_answers, validate_answers
from flaskgen.presets import Preset
from flaskgen.releases import Release, changelog_sections, list_releases, newest_in, parse_version
from flaskgen.template import Template, bundled_template_dir, load_hook, open_template, repository_root, template_at

__all__ = [
    "ANSWERS_FILE",
    "CheckResult",
    "Recorded",
    "Target",
    "UpdateResult",
    "check",
    "decide",
    "diff",
    "drifted",
    "locate",
    "read_answers",
    "update",
]

# The template's contract, written once: the post-gen hook names the file it writes.
ANSWERS_FILE: str = getattr(load_hook(bundled_template_dir(), "post_gen_project"), "ANSWERS_FILE", ".cruft.json")
# Never compared or merged: the answers file is rewritten, uv.lock is the project's own state
# (resolved on its own day; `update` refreshes it with `uv lock`), the rest are local artefacts.
IGNORED_PARTS = {".git", ".venv", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", "dist", "build"}
LOCK_FILE = "uv.lock"
MIGRATIONS_DIR = "migrations"
"""Beside the template's cookiecutter.json: `X.Y.Z.py` files, each with `migrate(project_dir, answers)`."""


@dataclass(frozen=True)
class Recorded:
    """What a project's answers file says."""

    project: Path
    template: str
    commit: str | None
    checkout: str | None
    directory: str | None
    answers: dict[str, Any]
    """Public answers only (no `_private` keys)."""
    skip: tuple[str, ...] = ()
    """cruft's `skip` entries: the answers file's, then `[tool.cruft] skip` of pyproject.toml."""


@dataclass(frozen=True)
class Target:
    """Where a project stands and where it would move: the recorded commit against a target
    commit, and, when the template has releases, the versions, releases behind and changelog."""

    template: str
    current_commit: str | None
    latest_commit: str | None
    current: Release | None = None
    latest: Release | None = None
    releases_behind: int | None = None
    """None when the template repository has no releases (commits only)."""
    changelog: list[dict[str, str]] = field(default_factory=list)
    """The CHANGELOG.md sections of the releases crossed, newest first: [{version, text}]."""

    @property
    def up_to_date(self) -> bool:
        if self.releases_behind is not None and self.releases_behind == 0 and self.current is not None:
            return True  # on the newest release (perhaps ahead of it, at a later commit)
        return self.current_commit is not None and self.current_commit == self.latest_commit

    @property
    def current_version(self) -> str | None:
        return self.current.name if self.current else None

    @property
    def latest_version(self) -> str | None:
        return self.latest.name if self.latest else None

    def to_json(self) -> dict[str, Any]:
        return {
            "up_to_date": self.up_to_date,
            "template": self.template,
            "current_commit": self.current_commit,
            "latest_commit": self.latest_commit,
            "current_version": self.current_version,
            "latest_version": self.latest_version,
            "releases_behind": self.releases_behind,
            "changelog": self.changelog,
        }


@dataclass
class CheckResult:
    target: Target
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return self.target.up_to_date

    def to_json(self) -> dict[str, Any]:
        return {
            **self.target.to_json(),
            "changes": {"added": self.added, "removed": self.removed, "modified": self.modified},
        }


@dataclass
class UpdateResult:
    target: Target
    updated: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Files the new template no longer makes but the user had changed (left in place)."""
    skipped: list[str] = field(default_factory=list)
    """Files the user deleted that the template changed (left deleted)."""
    ignored: list[str] = field(default_factory=list)
    """Files the template changed that the `skip` list protects (left as they are)."""
    migrated: list[str] = field(default_factory=list)
    """Files a release migration moved, created or deleted."""
    migrations: list[str] = field(default_factory=list)
    """The versions whose migrations ran."""
    new_answers: dict[str, Any] = field(default_factory=dict)
    """Variables the target version added, with the answers recorded for them."""
    dropped_answers: list[str] = field(default_factory=list)
    """Recorded variables the target version no longer has (removed from the answers file)."""
    relocked: bool = False
    """uv.lock was brought in line with the updated pyproject.toml (`uv lock`)."""
    lock_problem: str | None = None
    """Why uv.lock could not be made or refreshed, with the fix (the update itself went through)."""
    diff: str = ""

    @property
    def changed(self) -> bool:
        lists = (self.updated, self.added, self.removed, self.merged, self.conflicts, self.migrated)
        return any(lists) or bool(self.new_answers or self.dropped_answers)


def read_answers(project: str | os.PathLike[str]) -> Recorded:
    root = Path(project)
    if not root.is_dir():
        raise ProjectError(f"{root} is not a directory; give the path of a generated project")
    path = root / ANSWERS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        context = data["context"]["cookiecutter"]
        template = data["template"]
        skip = [str(entry) for entry in data.get("skip") or []]
    except FileNotFoundError as err:
        raise ProjectError(
            f"{root} has no {ANSWERS_FILE}: not a project made by flaskgen or cruft; "
            "generate it with `flaskgen new` (or record it with `cruft link`)"
        ) from err
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ProjectError(f"{path} is not a valid answers file ({err}); restore it from git") from err
    if not isinstance(template, str) or template in ("", "bundled"):
        raise ProjectError(
            f"{path} records no template repository (made by a flaskgen built outside git); "
            "pass --template with the template's git URL"
        )
    return Recorded(
        project=root,
        template=template,
        commit=data.get("commit"),
        checkout=data.get("checkout"),
        directory=data.get("directory"),
        answers={k: v for k, v in context.items() if not k.startswith("_")},
        skip=(*skip, *_pyproject_skip(root)),
    )


def _pyproject_skip(root: Path) -> list[str]:
    """`[tool.cruft] skip` of the project's pyproject.toml, which cruft reads too."""
    try:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    skip = data.get("tool", {}).get("cruft", {}).get("skip", [])
    return [str(entry) for entry in skip] if isinstance(skip, list) else []


@contextmanager
def _reach(recorded: Recorded, template: str | None, checkout: str | None) -> Iterator[Template]:
    """The template at the head of the followed branch (checkout, else the recorded one).
    An unreachable recorded source is one line naming it and the --template way out."""
    source = template or recorded.template
    with ExitStack() as stack:
        try:
            head = stack.enter_context(open_template(source, checkout or recorded.checkout))
        except TemplateError as err:
            if template is not None:
                raise
            raise TemplateError(
                f"cannot reach the template {source} recorded in {ANSWERS_FILE}; "
                "pass --template with a reachable URL or clone of it"
            ) from err
        yield head


def locate(head: Template, current_commit: str | None, to: str | None = None) -> Target:
    """Where a project at current_commit stands against the template head (see Target).

    to: None for the newest release (the head's commit when there are none), "HEAD" for the
    head's commit, or a release ("v1.2.0" or "1.2.0")."""
    repository = repository_root(head)
    releases = list_releases(repository) if repository else []
    if not releases:
        if to is not None and to.upper() != "HEAD":
            raise ProjectError(
                f"template {head.source} has no releases (vX.Y.Z tags); leave out --to, or use --to HEAD"
            )
        return Target(head.source, current_commit, head.commit)
    assert repository is not None
    current = newest_in(repository, current_commit)
    if to is None:
        latest = releases[-1]
        latest_commit = latest.commit
    elif to.upper() == "HEAD":
        latest = newest_in(repository, head.commit)
        latest_commit = head.commit
    else:
        wanted = parse_version(to)
        found = [release for release in releases if release.version == wanted]
        if not found:
            names = ", ".join(release.tag for release in releases[-5:])
            raise ProjectError(f"template {head.source} has no release {to!r}; choose one of: {names}, or HEAD")
        latest, latest_commit = found[0], found[0].commit
    crossed = [
        release
        for release in releases
        if (current is None or release.version > current.version) and latest and release.version <= latest.version
    ]
    sections = changelog_sections(_read_text(repository / "CHANGELOG.md"))
    return Target(
        template=head.source,
        current_commit=current_commit,
        latest_commit=latest_commit,
        current=current,
        latest=latest,
        releases_behind=len(crossed),
        changelog=[{"version": r.name, "text": sections.get(r.name, "")} for r in reversed(crossed)],
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


@contextmanager
def _at(head: Template, commit: str | None) -> Iterator[Template]:
    """The template at commit: the head itself when that is its commit (a local work tree is
    then used as it is), else a shared local clone at that commit."""
    if commit is None or commit == head.commit:
        yield head
    else:
        with template_at(head, commit) as tpl:
            yield tpl


def recorded_answers(tpl: Template, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Answers for a pristine render: the recorded ones this version knows, defaults for the rest."""
    full = resolve_answers(tpl, fixed={k: v for k, v in answers.items() if k in tpl.options}, no_input=True)
    validate_answers(tpl, full)
    return full


def target_answers(
    tpl: Template,
    recorded: Mapping[str, Any],
    *,
    overrides: Mapping[str, Any] | None = None,
    preset: Preset | None = None,
    no_input: bool = True,
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """The answers at the target version: (answers, new variables with their answers, dropped
    variables). A variable the version added is asked (its default, or the preset's, with
    no_input); one it removed is dropped; a recorded value that is no longer valid is an error
    naming the new choices, unless overrides (`--set`) replace it. The preset's locked answers
    refuse a conflicting override and answer new variables."""
    assigned = coerce_answers(tpl.options, overrides or {})
    checked = preset.checked(tpl.options) if preset is not None else None
    layers = AnswersMap(
        locked=dict(checked.locked) if checked else {},
        assigned=assigned,
        preset_defaults=dict(checked.defaults) if checked else {},
        locked_by=f"preset {checked.path}" if checked else "the preset",
    )
    kept: dict[str, Any] = {}
    for key, value in recorded.items():
        if key not in tpl.options or key in assigned:
            continue
        option = tpl.options[key]
        try:
            kept[key] = option.coerce(value, origin=ANSWERS_FILE)
        except InvalidAnswer as err:
            choices = ", ".join(map(str, option.choices or ()))
            raise InvalidAnswer(
                f"{ANSWERS_FILE}: {key}={value!r} is not valid in this template version (choices: {choices}); "
                f"pass --set {key}=<one of them>"
            ) from err
    added = [key for key in tpl.options if key not in recorded and key not in assigned]
    fixed = {**{k: v for k, v in layers.locked.items() if k in added}, **kept, **assigned}
    answers = resolve_answers(tpl, fixed=fixed, defaults=layers.defaults, no_input=no_input)
    validate_answers(tpl, answers)
    dropped = sorted(key for key in recorded if key not in tpl.options)
    return answers, {key: answers[key] for key in added}, dropped


@contextmanager
def pristine(tpl: Template, answers: Mapping[str, Any], *, checkout: str | None = None) -> Iterator[Path]:
    """A render of tpl with complete answers in a temporary directory (removed afterwards); its
    answers file records tpl's source and commit and checkout (the branch the project follows)."""
    scratch = Path(tempfile.mkdtemp(prefix="flaskgen-pristine-"))
    try:
        # No lock: uv.lock is the project's own state (resolved on its day), not a template output.
        private = {**tpl.origin_context(), "_answers_checkout": checkout or "", "_git_init": False, "_uv_lock": False}
        yield render(tpl, answers, output_dir=scratch, private={k: v for k, v in private.items() if k in tpl.context})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _ignored(relative: Path) -> bool:
    return (
        relative.name == ANSWERS_FILE or relative.as_posix() == LOCK_FILE or bool(IGNORED_PARTS & set(relative.parts))
    )


def tree_files(root: Path) -> dict[str, bytes]:
    """Template-comparable files under root: git's view (tracked + untracked, not ignored) in a
    repository, else every file outside the ignored directories."""
    listed = git.ls_files(root)
    paths = listed if listed is not None else [p.relative_to(root) for p in root.rglob("*") if p.is_file()]
    return {p.as_posix(): (root / p).read_bytes() for p in sorted(paths) if not _ignored(p) and (root / p).is_file()}


def skipped_paths(skip: tuple[str, ...], *roots: Path) -> set[str]:
    """The files under any root that cruft's `skip` entries cover, matched as cruft does: an
    entry with `*` is a `Path.glob` pattern, any other a path; a matched directory covers every
    file below it."""
    covered: set[str] = set()
    for root in roots:
        for entry in skip:
            matches = list(root.glob(entry)) if "*" in entry else [root / entry]
            for match in matches:
                files = [match] if match.is_file() else [p for p in match.rglob("*") if p.is_file()]
                covered.update(p.relative_to(root).as_posix() for p in files)
    return covered


def _compare(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> tuple[list[str], list[str], list[str]]:
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    modified = sorted(p for p in set(old) & set(new) if old[p] != new[p])
    return added, removed, modified


def check(project: str | os.PathLike[str], *, template: str | None = None, checkout: str | None = None) -> CheckResult:
    """Where the project stands against the newest release of its template (the newest commit
    of checkout, or of the followed branch, when the template has no releases)."""
    recorded = read_answers(project)
    with _reach(recorded, template, checkout) as head:
        target = locate(head, recorded.commit)
        result = CheckResult(target=target)
        if not target.up_to_date:
            with (
                _at(head, recorded.commit) as old_tpl,
                _at(head, target.latest_commit) as new_tpl,
                pristine(old_tpl, recorded_answers(old_tpl, recorded.answers)) as old,
                pristine(new_tpl, recorded_answers(new_tpl, recorded.answers)) as new,
            ):
                result.added, result.removed, result.modified = _compare(tree_files(old), tree_files(new))
    return result


def unified_diff(before: Mapping[str, bytes], after: Mapping[str, bytes], paths: list[str]) -> str:
    """A `git diff`-style text diff of the given paths (binary files are named, not shown)."""
    chunks = []
    for path in paths:
        a, b = before.get(path), after.get(path)
        if a == b:
            continue
        try:
            a_text = (a or b"").decode().splitlines(keepends=True)
            b_text = (b or b"").decode().splitlines(keepends=True)
        except UnicodeDecodeError:
            chunks.append(f"Binary files a/{path} and b/{path} differ\n")
            continue
        chunks.append(
            "".join(
                difflib.unified_diff(
                    a_text,
                    b_text,
                    fromfile=f"a/{path}" if a is not None else "/dev/null",
                    tofile=f"b/{path}" if b is not None else "/dev/null",
                )
            )
        )
    return "".join(chunk if chunk.endswith("\n") else chunk + "\n" for chunk in chunks if chunk)


def diff(project: str | os.PathLike[str], *, template: str | None = None) -> str:
    """What the project changed relative to a pristine render of its recorded template commit
    and answers (files the template does not make show as added)."""
    recorded = read_answers(project)
    with (
        _reach(recorded, template, None) as head,
        _at(head, recorded.commit) as tpl,
        pristine(tpl, recorded_answers(tpl, recorded.answers)) as render_dir,
    ):
        before, after = tree_files(render_dir), tree_files(recorded.project)
    return unified_diff(before, after, sorted(set(before) | set(after)))


def drifted(recorded: Recorded, head: Template) -> list[str]:
    """Files the template makes that the project changed or deleted, against a pristine render
    of its recorded commit and answers (files the project added are its own, not drift)."""
    with _at(head, recorded.commit) as tpl, pristine(tpl, recorded_answers(tpl, recorded.answers)) as clean:
        made, ours = tree_files(clean), tree_files(recorded.project)
    return sorted(path for path, content in made.items() if ours.get(path) != content)


def merge_file(ours: bytes, base: bytes, theirs: bytes, labels: tuple[str, str, str]) -> tuple[bytes, bool]:
    """Three-way merge of one file with `git merge-file`; returns (content, had_conflicts).
    Binary files cannot be merged: ours is kept and reported as a conflict."""
    if b"\0" in ours or b"\0" in base or b"\0" in theirs:
        return ours, True
    with tempfile.TemporaryDirectory(prefix="flaskgen-merge-") as tmp:
        paths = []
        for name, content in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(tmp) / name
            path.write_bytes(content)
            paths.append(path)
        return git.merge_file(paths[0], paths[1], paths[2], labels)


UpdateAction = Literal["updated", "added", "removed", "merged", "kept", "skipped"]


def decide(base: bytes | None, theirs: bytes | None, ours: bytes | None) -> UpdateAction | None:
    """What `update` does with one file, from its pristine render at the recorded version (base),
    at the target version (theirs) and the project's copy (ours); None is "absent". The answer
    names the UpdateResult list the file goes to; None means nothing to do.

    - nothing to do: the template did not change it, or the project already has the new version;
    - the template dropped it: removed if the user never changed it, else kept;
    - the user deleted it: skipped (stays deleted); a new template file: added;
    - the user never changed it: updated; both changed it: merged (three-way, may conflict).
    """
    if base == theirs or ours == theirs:
        return None
    if theirs is None:
        return None if ours is None else ("removed" if ours == base else "kept")
    if ours is None:
        return "added" if base is None else "skipped"
    return "updated" if ours == base else "merged"


def migrations_between(tpl: Template, current: Release | None, latest: Release | None) -> list[tuple[str, Path]]:
    """The template's release migrations for versions after current, up to latest, oldest first."""
    if latest is None:
        return []
    found = []
    for path in (tpl.path / MIGRATIONS_DIR).glob("*.py"):
        version = parse_version(path.stem)
        if version and (current is None or version > current.version) and version <= latest.version:
            found.append((version, path))
    return [(".".join(map(str, version)), path) for version, path in sorted(found)]


def run_migration(path: Path, project_dir: Path, answers: Mapping[str, Any]) -> None:
    """Call a migration's `migrate(project_dir, answers)`; migrations must be idempotent (a
    project made after the change already has the new layout)."""
    spec = importlib.util.spec_from_file_location(f"_flaskgen_migration_{path.stem.replace('.', '_')}", path)
    if spec is None or spec.loader is None:
        raise TemplateError(f"cannot load migration {path.name}; fix the template")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        module.migrate(project_dir, dict(answers))
    except Exception as err:
        raise TemplateError(f"migration {path.name} failed: {err}; fix the template's migration") from err


def _write_tree(files: Mapping[str, bytes], root: Path) -> None:
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(content)


def _answers_record(rendered: bytes, previous: Path) -> bytes:
    """The new answers file: the render's, keeping what only the project's had (cruft's `skip`)."""
    record = json.loads(rendered)
    try:
        old = json.loads(previous.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = {}
    for key, value in old.items():
        record.setdefault(key, value)
    return (json.dumps(record, indent=2) + "\n").encode()


def update(
    project: str | os.PathLike[str],
    *,
    template: str | None = None,
    checkout: str | None = None,
    to: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    preset: Preset | None = None,
    no_input: bool = True,
    allow_dirty: bool = False,
    dry_run: bool = False,
) -> UpdateResult:
    """Bring the project to the newest template release (to: a release, or "HEAD" for the newest
    commit; without releases, the newest commit of checkout or the followed branch), keeping the
    user's edits; overrides change answers on the way (e.g. {"ci": "gitlab"}), checked against
    the preset's locked answers. New variables are prompted for unless no_input."""
    recorded = read_answers(project)
    root = recorded.project
    if not git.available():
        raise ProjectError("git is not installed; flaskgen update merges with `git merge-file`")
    changed = [] if dry_run or allow_dirty else git.changed_files(root)
    if changed:
        raise ProjectError(
            f"{root} has uncommitted changes ({git.name_files(changed)}); commit or stash them, or pass --allow-dirty"
        )
    follow = checkout or recorded.checkout
    with _reach(recorded, template, checkout) as head:
        target = locate(head, recorded.commit, to)
        if target.current and target.latest and target.latest.version < target.current.version:
            raise ProjectError(
                f"{target.latest.tag} is older than the project's {target.current.tag}; flaskgen does not downgrade"
            )
        stay = target.up_to_date and to is None
        goal = recorded.commit if stay else target.latest_commit
        result = UpdateResult(target=target)
        if stay and not overrides:
            return result
        with ExitStack() as stack:
            old_tpl = stack.enter_context(_at(head, recorded.commit))
            new_tpl = stack.enter_context(_at(head, goal))
            answers, result.new_answers, result.dropped_answers = target_answers(
                new_tpl, recorded.answers, overrides=overrides, preset=preset, no_input=no_input
            )
            old = stack.enter_context(pristine(old_tpl, recorded_answers(old_tpl, recorded.answers)))
            new = stack.enter_context(pristine(new_tpl, answers, checkout=follow))
            original = tree_files(root)
            ours = original
            migrations = [] if stay else migrations_between(new_tpl, target.current, target.latest)
            if migrations:
                work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="flaskgen-migrate-")))
                _write_tree(original, work)
                for version, path in migrations:
                    run_migration(path, work, answers)
                    run_migration(path, old, answers)
                    result.migrations.append(version)
                ours = tree_files(work)
            base, theirs = tree_files(old), tree_files(new)
            protected = skipped_paths(recorded.skip, old, new, root)
            answers_file = (new / ANSWERS_FILE).read_bytes() if (new / ANSWERS_FILE).is_file() else None
            lock = _locker(new_tpl)
    result.migrated = sorted(p for p in set(original) | set(ours) if original.get(p) != ours.get(p))
    labels = ("yours", f"template {str(recorded.commit)[:12]}", f"template {str(goal)[:12]}")
    planned: dict[str, bytes | None] = {}
    for path in sorted(set(base) | set(theirs)):
        old_version, new_version, project_version = base.get(path), theirs.get(path), ours.get(path)
        action = decide(old_version, new_version, project_version)
        if action is not None and path in protected:
            result.ignored.append(path)
            continue
        if action in ("updated", "added"):
            planned[path] = new_version
        elif action == "removed":
            planned[path] = None
        elif action == "merged":
            assert project_version is not None and new_version is not None
            merged, conflicted = merge_file(project_version, old_version or b"", new_version, labels)
            planned[path] = merged
            action = "conflicts" if conflicted else "merged"
        if action is not None:
            getattr(result, action).append(path)
    after = {path: content for path, content in {**ours, **planned}.items() if content is not None}
    changes = sorted(p for p in set(original) | set(after) if original.get(p) != after.get(p))
    result.diff = unified_diff(original, after, changes)
    if dry_run:
        return result
    if answers_file is None:
        raise TemplateError("the new template version wrote no answers file; it cannot be tracked any further")
    for path in changes:
        destination = root / path
        if path not in after:
            destination.unlink()
            _prune_empty_dirs(destination.parent, root)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(after[path])
    (root / ANSWERS_FILE).write_bytes(_answers_record(answers_file, root / ANSWERS_FILE))
    if lock is not None and ("pyproject.toml" in changes or not (root / LOCK_FILE).is_file()):
        result.lock_problem = lock(root)
        result.relocked = result.lock_problem is None
    return result


def _locker(tpl: Template) -> Callable[[Path], str | None] | None:
    """The template's own `uv lock` step (its post-gen hook's `lock_dependencies`) when it locks
    projects, else None. The lock file is the project's state, never part of a render: after an
    update changed pyproject.toml (or a project from before locking has none) it is refreshed
    with `uv lock`, which keeps every pin the new constraints still allow."""
    if not tpl.context.get("_uv_lock"):
        return None
    lock = getattr(tpl.post_gen_hook, "lock_dependencies", None)
    return lock if callable(lock) else None


def _prune_empty_dirs(directory: Path, root: Path) -> None:
    while directory != root and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent

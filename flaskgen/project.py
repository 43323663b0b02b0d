"""Existing projects: `check` (is it behind its template?), `diff` (what did the project change?)
and `update` (bring it to a newer template version with a three-way merge).

The answers file is cruft's `.cruft.json` (template, commit, checkout, context, directory), so
cruft's own `check`/`update` also work on flaskgen projects.

How update merges: render the template twice into temporary directories — at the recorded
commit with the recorded answers ("base") and at the target commit with the new answers
("theirs") — then merge each file into the project ("ours") with `git merge-file`, the same
three-way merge git uses. Files the user never touched simply take the new version; changes
on both sides that do not overlap are combined; overlapping ones get standard conflict markers
and are reported. This works per file, needs no shared history between the project and the
template, and leaves the user's own files (not produced by the template) alone.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from flaskgen import git
from flaskgen.answers import coerce_answers
from flaskgen.errors import ProjectError, TemplateError
from flaskgen.generate import render, resolve_answers, validate_answers
from flaskgen.template import bundled_template_dir, load_hook, open_template

__all__ = [
    "ANSWERS_FILE",
    "CheckResult",
    "Recorded",
    "UpdateResult",
    "check",
    "decide",
    "diff",
    "read_answers",
    "update",
]

# The template's contract, written once: the post-gen hook names the file it writes.
ANSWERS_FILE: str = getattr(load_hook(bundled_template_dir(), "post_gen_project"), "ANSWERS_FILE", ".cruft.json")
# Never compared or merged: the answers file is rewritten, the rest are local artefacts.
IGNORED_PARTS = {".git", ".venv", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", "dist", "build"}


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


@dataclass
class CheckResult:
    template: str
    current: str | None
    latest: str | None
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return self.current is not None and self.current == self.latest

    def to_json(self) -> dict[str, Any]:
        return {
            "up_to_date": self.up_to_date,
            "template": self.template,
            "current_commit": self.current,
            "latest_commit": self.latest,
            "changes": {"added": self.added, "removed": self.removed, "modified": self.modified},
        }


@dataclass
class UpdateResult:
    current: str | None
    target: str | None
    updated: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Files the new template no longer makes but the user had changed (left in place)."""
    skipped: list[str] = field(default_factory=list)
    """Files the user deleted that the template changed (left deleted)."""
    diff: str = ""


def read_answers(project: str | os.PathLike[str]) -> Recorded:
    root = Path(project)
    if not root.is_dir():
        raise ProjectError(f"{root} is not a directory; give the path of a generated project")
    path = root / ANSWERS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        context = data["context"]["cookiecutter"]
        template = data["template"]
    except FileNotFoundError as err:
        raise ProjectError(
            f"{root} has no {ANSWERS_FILE}: not a project made by flaskgen or cruft; "
            "generate it with `flaskgen new` (or record it with `cruft link`)"
        ) from err
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ProjectError(f"{path} is not a valid answers file ({err}); restore it from git") from err
    if not isinstance(template, str) or template in ("", "bundled"):
        raise ProjectError(
            f"{path} records no template repository (made from an installed flaskgen's bundled template); "
            "pass --template with the template's git URL"
        )
    return Recorded(
        project=root,
        template=template,
        commit=data.get("commit"),
        checkout=data.get("checkout"),
        directory=data.get("directory"),
        answers={k: v for k, v in context.items() if not k.startswith("_")},
    )


def _source(recorded: Recorded, template: str | None) -> str:
    return template or recorded.template


def latest_commit(source: str, checkout: str | None) -> str | None:
    with open_template(source, checkout) as tpl:
        return tpl.commit


@contextmanager
def render_at(
    source: str,
    ref: str | None,
    answers: Mapping[str, Any],
    *,
    overrides: Mapping[str, Any] | None = None,
    checkout: str | None = None,
) -> Iterator[Path]:
    """A pristine render of the template at commit ref with answers (unknown keys are dropped,
    new variables take their defaults) changed by overrides (checked against that version's
    options), in a temporary directory removed afterwards. Its answers file records checkout
    (the branch/tag the project follows), not the commit ref."""
    scratch = Path(tempfile.mkdtemp(prefix="flaskgen-pristine-"))
    try:
        with open_template(source, ref) as tpl:
            known = {k: v for k, v in answers.items() if k in tpl.options}
            known.update(coerce_answers(tpl.options, overrides or {}))
            full = resolve_answers(tpl, fixed=known, no_input=True)
            validate_answers(tpl, full)
            private = {**tpl.origin_context(), "_answers_checkout": checkout or "", "_git_init": False}
            yield render(tpl, full, output_dir=scratch, private={k: v for k, v in private.items() if k in tpl.context})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _ignored(relative: Path) -> bool:
    return relative.name == ANSWERS_FILE or bool(IGNORED_PARTS & set(relative.parts))


def tree_files(root: Path) -> dict[str, bytes]:
    """Template-comparable files under root: git's view (tracked + untracked, not ignored) in a
    repository, else every file outside the ignored directories."""
    listed = git.ls_files(root)
    paths = listed if listed is not None else [p.relative_to(root) for p in root.rglob("*") if p.is_file()]
    return {p.as_posix(): (root / p).read_bytes() for p in sorted(paths) if not _ignored(p) and (root / p).is_file()}


def _compare(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> tuple[list[str], list[str], list[str]]:
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    modified = sorted(p for p in set(old) & set(new) if old[p] != new[p])
    return added, removed, modified


def check(project: str | os.PathLike[str], *, template: str | None = None, checkout: str | None = None) -> CheckResult:
    """Compare the recorded template commit with the newest one (of checkout, when given)."""
    recorded = read_answers(project)
    source = _source(recorded, template)
    latest = latest_commit(source, checkout or recorded.checkout)
    result = CheckResult(template=source, current=recorded.commit, latest=latest)
    if not result.up_to_date:
        with (
            render_at(source, recorded.commit, recorded.answers) as old,
            render_at(source, latest, recorded.answers) as new,
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
    with render_at(_source(recorded, template), recorded.commit, recorded.answers) as pristine:
        before, after = tree_files(pristine), tree_files(recorded.project)
    return unified_diff(before, after, sorted(set(before) | set(after)))


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


def update(
    project: str | os.PathLike[str],
    *,
    template: str | None = None,
    checkout: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    allow_dirty: bool = False,
    dry_run: bool = False,
) -> UpdateResult:
    """Bring the project to the newest template commit (of checkout, when given), keeping the
    user's edits; overrides change answers on the way (e.g. {"ci": "gitlab"})."""
    recorded = read_answers(project)
    root = recorded.project
    if not git.available():
        raise ProjectError("git is not installed; flaskgen update merges with `git merge-file`")
    if not dry_run and not allow_dirty and git.is_dirty(root):
        raise ProjectError(f"{root} has uncommitted changes; commit or stash them, or pass --allow-dirty")
    source = _source(recorded, template)
    follow = checkout or recorded.checkout
    target = latest_commit(source, follow)
    result = UpdateResult(current=recorded.commit, target=target)
    if target == recorded.commit and not overrides:
        return result

    labels = ("yours", f"template {str(recorded.commit)[:12]}", f"template {str(target)[:12]}")
    with (
        render_at(source, recorded.commit, recorded.answers) as old,
        render_at(source, target, recorded.answers, overrides=overrides, checkout=follow) as new,
    ):
        base, theirs, ours = tree_files(old), tree_files(new), tree_files(root)
        answers_file = (new / ANSWERS_FILE).read_bytes() if (new / ANSWERS_FILE).is_file() else None
    planned: dict[str, bytes | None] = {}
    for path in sorted(set(base) | set(theirs)):
        old_version, new_version, project_version = base.get(path), theirs.get(path), ours.get(path)
        action = decide(old_version, new_version, project_version)
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
    result.diff = unified_diff(ours, after, sorted(planned))
    if dry_run:
        return result
    if answers_file is None:
        raise TemplateError("the new template version wrote no answers file; it cannot be tracked any further")
    for path, content in planned.items():
        destination = root / path
        if content is None:
            destination.unlink()
            _prune_empty_dirs(destination.parent, root)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(content)
    (root / ANSWERS_FILE).write_bytes(answers_file)
    return result


def _prune_empty_dirs(directory: Path, root: Path) -> None:
    while directory != root and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent

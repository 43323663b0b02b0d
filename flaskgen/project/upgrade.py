"""`update`: bring a project to a newer template version. Render the template twice — at the
recorded commit with the recorded answers (base) and at the target with the new answers
(theirs) — run the release migrations crossed on the project and on base, plan each file's
three-way merge (flaskgen.project.plan), then apply the plan: write the files, the new answers
file and, when pyproject.toml changed, a refreshed uv.lock (the template's own `uv lock` step)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flaskgen import git
from flaskgen.errors import ProjectError, TemplateError
from flaskgen.presets import Preset
from flaskgen.project.migrations import migrations_between, run_migration, write_tree
from flaskgen.project.plan import UpdatePlan, plan_update
from flaskgen.project.position import Target, at, locate, reach
from flaskgen.project.record import answers_file, new_record, read_answers
from flaskgen.project.renders import LOCK_FILE, pristine, recorded_answers, skipped_paths, target_answers, tree_files
from flaskgen.template import Template

__all__ = ["UpdateResult", "apply_plan", "update"]


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
    the preset's locked answers. New variables are prompted for unless no_input. dry_run: the
    plan only (its diff in the result), nothing written."""
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
    with reach(recorded, template, checkout) as head:
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
            old_tpl = stack.enter_context(at(head, recorded.commit))
            new_tpl = stack.enter_context(at(head, goal))
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
                write_tree(original, work)
                for version, path in migrations:
                    run_migration(path, work, answers)
                    run_migration(path, old, answers)
                    result.migrations.append(version)
                ours = tree_files(work)
            base, theirs = tree_files(old), tree_files(new)
            protected = skipped_paths(recorded.skip, old, new, root)
            rendered = new / answers_file()
            record = rendered.read_bytes() if rendered.is_file() else None
            lock = _locker(new_tpl)
    result.migrated = sorted(p for p in set(original) | set(ours) if original.get(p) != ours.get(p))
    labels = ("yours", f"template {str(recorded.commit)[:12]}", f"template {str(goal)[:12]}")
    plan = plan_update(base, theirs, ours, before=original, protected=protected, labels=labels)
    for name in ("updated", "added", "removed", "merged", "conflicts", "kept", "skipped", "ignored"):
        getattr(result, name).extend(plan.paths(name))
    result.diff = plan.diff()
    if dry_run:
        return result
    if record is None:
        raise TemplateError("the new template version wrote no answers file; it cannot be tracked any further")
    apply_plan(plan, root, record)
    if lock is not None and ("pyproject.toml" in plan.changes or not (root / LOCK_FILE).is_file()):
        result.lock_problem = lock(root)
        result.relocked = result.lock_problem is None
    return result


def apply_plan(plan: UpdatePlan, root: Path, record: bytes) -> None:
    """Write the plan's changes into the project at root, and its new answers file (the render's,
    keeping what only the project's had)."""
    for path in plan.changes:
        destination = root / path
        if path not in plan.after:
            destination.unlink()
            _prune_empty_dirs(destination.parent, root)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(plan.after[path])
    (root / answers_file()).write_bytes(new_record(record, root / answers_file()))


def _locker(tpl: Template) -> Callable[[Path], str | None] | None:
    """The template's own `uv lock` step (its post-gen hook's `lock_dependencies`) when it locks
    projects, else None. The lock file is the project's state, never part of a render: after an
    update changed pyproject.toml (or a project from before locking has none) it is refreshed
    with `uv lock`, which keeps every pin the new constraints still allow."""
    if not tpl.context.get("_uv_lock") or not tpl.hooks.can_lock:
        return None
    return tpl.hooks.lock_dependencies


def _prune_empty_dirs(directory: Path, root: Path) -> None:
    while directory != root and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent

"""An update as a plan over file contents: from each file's pristine render at the recorded
version (base), at the target version (theirs) and the project's copy (ours), what happens to it
and what the project's files are afterwards. Nothing here reads or writes the project; `update`
applies the plan (flaskgen.project.upgrade), and `update --dry-run` prints its diff.

Each file is merged with `git merge-file`, the same three-way merge git uses: files the user
never touched take the new version, changes on both sides that do not overlap are combined,
overlapping ones get standard conflict markers and are reported."""

from __future__ import annotations

import tempfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from flaskgen import git
from flaskgen.project.drift import unified_diff

__all__ = ["UpdateAction", "UpdatePlan", "decide", "merge_file", "plan_update"]


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


PlannedAction = Literal["updated", "added", "removed", "merged", "conflicts", "kept", "skipped", "ignored"]


@dataclass(frozen=True)
class UpdatePlan:
    """What an update does to the project's files: each template file's action (the UpdateResult
    list it is reported in), and the project's files before and after."""

    before: Mapping[str, bytes]
    after: Mapping[str, bytes]
    actions: Mapping[str, PlannedAction] = field(default_factory=dict)

    def paths(self, action: PlannedAction) -> list[str]:
        return sorted(path for path, planned in self.actions.items() if planned == action)

    @property
    def changes(self) -> list[str]:
        """The files the update writes or deletes."""
        before, after = self.before, self.after
        return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))

    def diff(self) -> str:
        return unified_diff(self.before, self.after, self.changes)


def plan_update(
    base: Mapping[str, bytes],
    theirs: Mapping[str, bytes],
    ours: Mapping[str, bytes],
    *,
    before: Mapping[str, bytes],
    protected: Collection[str] = (),
    labels: tuple[str, str, str] = ("yours", "base", "theirs"),
) -> UpdatePlan:
    """The plan for the template files of base and theirs (decide, then merge_file for "merged"):
    ours is the project after the release migrations, before the project as it is (the plan's
    diff shows both); a protected path (cruft's `skip`) is "ignored" and never changed."""
    actions: dict[str, PlannedAction] = {}
    planned: dict[str, bytes | None] = {}
    for path in sorted(set(base) | set(theirs)):
        old_version, new_version, project_version = base.get(path), theirs.get(path), ours.get(path)
        action: PlannedAction | None = decide(old_version, new_version, project_version)
        if action is not None and path in protected:
            actions[path] = "ignored"
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
            actions[path] = action
    after = {path: content for path, content in {**ours, **planned}.items() if content is not None}
    return UpdatePlan(before=dict(before), after=after, actions=actions)

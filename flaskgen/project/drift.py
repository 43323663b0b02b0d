"""`check` (is the project behind its template?), `diff` (what did the project change?) and
`drifted` (which template files did it change?), each against pristine renders."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flaskgen.project.position import Target, at, locate, reach
from flaskgen.project.record import Recorded, read_answers
from flaskgen.project.renders import pristine, recorded_answers, tree_files
from flaskgen.template import Template

__all__ = ["CheckResult", "check", "diff", "drifted", "unified_diff"]


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


def _compare(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> tuple[list[str], list[str], list[str]]:
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    modified = sorted(p for p in set(old) & set(new) if old[p] != new[p])
    return added, removed, modified


def check(project: str | os.PathLike[str], *, template: str | None = None, checkout: str | None = None) -> CheckResult:
    """Where the project stands against the newest release of its template (the newest commit
    of checkout, or of the followed branch, when the template has no releases)."""
    recorded = read_answers(project)
    with reach(recorded, template, checkout) as head:
        target = locate(head, recorded.commit)
        result = CheckResult(target=target)
        if not target.up_to_date:
            with (
                at(head, recorded.commit) as old_tpl,
                at(head, target.latest_commit) as new_tpl,
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
        reach(recorded, template, None) as head,
        at(head, recorded.commit) as tpl,
        pristine(tpl, recorded_answers(tpl, recorded.answers)) as render_dir,
    ):
        before, after = tree_files(render_dir), tree_files(recorded.project)
    return unified_diff(before, after, sorted(set(before) | set(after)))


def drifted(recorded: Recorded, head: Template) -> list[str]:
    """Files the template makes that the project changed or deleted, against a pristine render
    of its recorded commit and answers (files the project added are its own, not drift)."""
    with at(head, recorded.commit) as tpl, pristine(tpl, recorded_answers(tpl, recorded.answers)) as clean:
        made, ours = tree_files(clean), tree_files(recorded.project)
    return sorted(path for path, content in made.items() if ours.get(path) != content)

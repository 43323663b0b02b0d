"""Existing projects: `check` (is it behind its template?), `diff` (what did the project change?)
and `update` (bring it to a newer template version with a three-way merge).

One module per part, bottom up: `record` (the answers file), `renders` (pristine renders and
the files compared), `position` (where a project stands: commits, releases, changelog), `drift`
(`check`, `diff`, `drifted`), `migrations` (release migrations), `plan` (an update decided from
file contents alone) and `upgrade` (`update`: render, migrate, plan, apply). This module is the
public surface; the names below are the ones the CLI, the fleet and the tests use.

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

from typing import Any

from flaskgen.project.drift import CheckResult, check, diff, drifted
from flaskgen.project.plan import UpdatePlan, decide, plan_update
from flaskgen.project.position import Target, locate
from flaskgen.project.record import Recorded, answers_file, read_answers
from flaskgen.project.renders import pristine, recorded_answers, tree_files
from flaskgen.project.upgrade import UpdateResult, update

__all__ = [
    "CheckResult",
    "Recorded",
    "Target",
    "UpdatePlan",
    "UpdateResult",
    "answers_file",
    "check",
    "decide",
    "diff",
    "drifted",
    "locate",
    "plan_update",
    "pristine",
    "read_answers",
    "recorded_answers",
    "tree_files",
    "update",
]


def __getattr__(name: str) -> Any:
    """`ANSWERS_FILE`, computed when first asked for (importing flaskgen loads no hook)."""
    if name == "ANSWERS_FILE":
        return answers_file()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

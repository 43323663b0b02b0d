"""Pristine renders: the template at one version with complete answers, in a temporary
directory, and the files of a tree as the lifecycle commands compare them."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flaskgen import git
from flaskgen.answers import AnswersMap
from flaskgen.errors import InvalidAnswer
from flaskgen.generate import render, resolve_answers, validate_answers
from flaskgen.presets import Preset
from flaskgen.project.record import answers_file
from flaskgen.template import Template

__all__ = ["LOCK_FILE", "pristine", "recorded_answers", "skipped_paths", "target_answers", "tree_files"]

# Never compared or merged: the answers file is rewritten, uv.lock is the project's own state
# (resolved on its own day; `update` refreshes it with `uv lock`), the rest are local artefacts.
IGNORED_PARTS = {".git", ".venv", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", "dist", "build"}
LOCK_FILE = "uv.lock"


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
    layers = AnswersMap.layered(tpl.options, overrides=overrides, preset=preset)
    assigned = layers.assigned
    kept: dict[str, Any] = {}
    for key, value in recorded.items():
        if key not in tpl.options or key in assigned:
            continue
        option = tpl.options[key]
        try:
            kept[key] = option.coerce(value, origin=answers_file())
        except InvalidAnswer as err:
            choices = ", ".join(map(str, option.choices or ()))
            raise InvalidAnswer(
                f"{answers_file()}: {key}={value!r} is not valid in this template version (choices: {choices}); "
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
        yield render(tpl, answers, output_dir=scratch, private=tpl.private_context(checkout=checkout or ""))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _ignored(relative: Path) -> bool:
    return (
        relative.name == answers_file() or relative.as_posix() == LOCK_FILE or bool(IGNORED_PARTS & set(relative.parts))
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

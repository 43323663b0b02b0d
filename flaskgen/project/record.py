"""The answers file a project records: cruft's `.cruft.json` (template, commit, checkout,
context, directory, skip), read once per command and rewritten by `update`."""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from flaskgen.errors import ProjectError
from flaskgen.hooks import ModuleHooks
from flaskgen.template import bundled_template_dir

__all__ = ["Recorded", "answers_file", "new_record", "read_answers"]


@cache
def answers_file() -> str:
    """The answers file's name: the template's contract, written once, by its post-gen hook
    (`ANSWERS_FILE`); read from the bundled template the first time it is needed."""
    return ModuleHooks(bundled_template_dir()).answers_file


def __getattr__(name: str) -> Any:
    """`ANSWERS_FILE`, computed when first asked for (importing flaskgen loads no hook)."""
    if name == "ANSWERS_FILE":
        return answers_file()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


def read_answers(project: str | os.PathLike[str]) -> Recorded:
    root = Path(project)
    if not root.is_dir():
        raise ProjectError(f"{root} is not a directory; give the path of a generated project")
    path = root / answers_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        context = data["context"]["cookiecutter"]
        template = data["template"]
        skip = [str(entry) for entry in data.get("skip") or []]
    except FileNotFoundError as err:
        raise ProjectError(
            f"{root} has no {answers_file()}: not a project made by flaskgen or cruft; "
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


def new_record(rendered: bytes, previous: Path) -> bytes:
    """The new answers file: the render's, keeping what only the project's had (cruft's `skip`)."""
    record = json.loads(rendered)
    try:
        old = json.loads(previous.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = {}
    for key, value in old.items():
        record.setdefault(key, value)
    return (json.dumps(record, indent=2) + "\n").encode()

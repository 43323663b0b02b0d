"""Release migrations: `migrations/X.Y.Z.py` beside the template's cookiecutter.json, each a
`migrate(project_dir, answers)`, run by `update` when it crosses their version, on the project
and on the base render alike, so a file the template moved carries the user's edits along."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flaskgen.errors import TemplateError
from flaskgen.releases import Release, parse_version
from flaskgen.template import Template

__all__ = ["MIGRATIONS_DIR", "migrations_between", "run_migration", "write_tree"]

MIGRATIONS_DIR = "migrations"
"""Beside the template's cookiecutter.json: `X.Y.Z.py` files, each with `migrate(project_dir, answers)`."""


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


def write_tree(files: Mapping[str, bytes], root: Path) -> None:
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(content)

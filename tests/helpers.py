"""Helpers shared by flaskgen's tests (fixtures and pytest hooks live in conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flaskgen.generate import generate_project
from flaskgen.testing import port_open

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "template"
SLUG = "template/{{cookiecutter.project_slug}}"
"""The generated project's tree inside a template repository made by template_repository()."""
UV = Path(sys.executable).parent / "uv"
"""The uv that `make install` put in flaskgen's own venv (a dev dependency)."""
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(available: bool, reason: str) -> None:
    """Skip with a visible reason when something external is missing; fail under CI."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing dependency is a failure, not a skip)")
    pytest.skip(reason)


def postgres_available() -> bool:
    return port_open(5432) and shutil.which("psql") is not None


def redis_available() -> bool:
    return port_open(6379)


def find_python(version: str) -> str | None:
    """An interpreter for version X.Y: pythonX.Y on PATH if it runs, else a pyenv build."""
    candidates = []
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(str(p) for p in pyenv_root.glob(f"versions/{version}.*/bin/python{version}"))
    for candidate in candidates:
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write files (relative path -> text) under root; return root."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


GIT_IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
                "GIT_COMMITTER_EMAIL": "t@example.com"}  # fmt: skip


def git(cwd: Path, *args: str) -> str:
    """`git args...` in cwd with a fixed identity (and no user config); its stripped stdout."""
    env = {**GIT_IDENTITY, "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first old with new in a file; old must be there."""
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def template_repository(root: Path, *, changelog: str | None = None, tag: str | None = None) -> Path:
    """This checkout's template in a git repository of its own (root/template-repo), committed,
    with CHANGELOG.md when given and a lightweight tag when given."""
    repo = root / "template-repo"
    shutil.copytree(REPO / "template", repo / "template")
    shutil.copy(REPO / "cookiecutter.json", repo / "cookiecutter.json")
    if changelog is not None:
        (repo / "CHANGELOG.md").write_text(changelog)
    git(repo, "init", "--quiet", "--initial-branch=main")
    commit_all(repo, f"version {tag or 'A'}")
    if tag is not None:
        git(repo, "tag", tag)
    return repo


def project_from(template: Path, output_dir: Path, name: str, **answers: Any) -> Path:
    """A project generated from a template repository, git-initialised (no database and Python
    3.11 unless answers say otherwise)."""
    made = generate_project(
        template=str(template),
        name=name,
        no_input=True,
        overrides={"database": "none", "python_version": "3.11", **answers},
        output_dir=output_dir,
        git=True,
    )
    return made.project_dir

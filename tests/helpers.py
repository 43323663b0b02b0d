"""Helpers shared by flaskgen's tests (fixtures and pytest hooks live in conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from flaskgen.generate import generate_project
from flaskgen.template import load_hook
from flaskgen.testing import port_open

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "template"
HOOKS = REPO / "hooks"
"""The template's hooks; template/hooks is a relative link to this directory (README, "Where things live")."""
SLUG = "template/{{cookiecutter.project_slug}}"
"""The generated project's tree inside a template repository made by template_repository()."""
UV = Path(sys.executable).parent / "uv"
"""The uv that `make install` put in flaskgen's own venv (a dev dependency)."""
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def template_hook(name: str) -> ModuleType:
    """The template's hook `name` (pre_gen_project, post_gen_project) as a module, imported from
    the top-level hooks/ where its one copy lives."""
    module = load_hook(HOOKS.parent, name)
    assert module is not None, f"{HOOKS}/{name}.py is missing or not importable"
    return module


DEFAULT_PRUNED = ["src/orders_api/deadlines.py", "src/orders_api/queue_celery.py", ".gitlab-ci.yml"]
"""Files the template has and the post-gen hook removes for the default answers."""


def default_hooks_ran(project: Path) -> None:
    """Project orders-api, of the default variant, as the post-gen hook leaves it: the files of the
    options not chosen pruned (each is in the template), the answers file written."""
    assert (project / "src/orders_api/__init__.py").is_file()
    for relative in DEFAULT_PRUNED:
        template_path = (
            TEMPLATE / "{{cookiecutter.project_slug}}" / relative.replace("orders_api", "{{cookiecutter.package_name}}")
        )
        assert template_path.exists(), f"{template_path} is not in the template: the check proves nothing"
        assert not (project / relative).exists(), f"{relative} was not pruned: the post-gen hook did not run"
    assert json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]["package_name"] == "orders_api"


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
    """This checkout's template in a git repository of its own (root/template-repo), laid out as
    this one (top-level hooks/, template/hooks a link to it), committed, with CHANGELOG.md when
    given and a lightweight tag when given."""
    repo = root / "template-repo"
    shutil.copytree(REPO / "template", repo / "template", symlinks=True)
    shutil.copytree(REPO / "hooks", repo / "hooks")
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

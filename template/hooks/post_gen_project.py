"""Finish the generated project: prune the files of options not chosen, then maybe `git init`.

Cookiecutter runs this with the new project as the working directory. Each step is a small
function of the answers so tests can import and call it on a temporary tree. Whole optional
files live in the template unconditionally and are removed here (cookiecutter-django's way),
rather than being wrapped in one big Jinja if-block.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def remove_paths(root: Path, paths: Iterable[str]) -> list[str]:
    """Delete files or directories under root; return the ones that existed."""
    removed = []
    for relative in paths:
        path = root / relative
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(relative)
    return removed


def database_files(answers: Mapping[str, Any]) -> list[str]:
    """The database code, migrations and tests, when no database is chosen."""
    if answers["database"] != "none":
        return []
    package = f"src/{answers['package_name']}"
    return [
        "migrations",
        f"{package}/extensions.py",
        f"{package}/models.py",
        f"{package}/items.py",
        "tests/test_items.py",
    ]


def task_queue_files(answers: Mapping[str, Any]) -> list[str]:
    """The task code, worker entry point, worker unit and tests, when no queue is chosen."""
    if answers["task_queue"] != "none":
        return []
    package = f"src/{answers['package_name']}"
    return [
        f"{package}/tasks.py",
        f"{package}/worker.py",
        f"deploy/systemd/{answers['project_slug']}-worker.service",
        "tests/test_tasks.py",
    ]


def docker_files(answers: Mapping[str, Any]) -> list[str]:
    """Dockerfile, compose file and .dockerignore, unless docker is chosen."""
    if answers["docker"] in (True, "yes", "y", "true", "True"):
        return []
    return ["Dockerfile", "compose.yaml", ".dockerignore", "deploy/nginx/docker.conf"]


def ci_files(answers: Mapping[str, Any]) -> list[str]:
    """The CI configurations of the providers not chosen."""
    by_provider = {"github": [".github"], "gitlab": [".gitlab-ci.yml"]}
    return [path for name, paths in by_provider.items() if name != answers["ci"] for path in paths]


def files_to_prune(answers: Mapping[str, Any]) -> list[str]:
    """Every path the answers leave out of the project."""
    return [
        *database_files(answers),
        *task_queue_files(answers),
        *docker_files(answers),
        *ci_files(answers),
    ]


def git_available() -> bool:
    return shutil.which("git") is not None


def git_init(root: Path, answers: Mapping[str, Any]) -> bool:
    """`git init` and a first commit. The author comes from git's own config when it has one,
    else from the answers, so this works on a fresh CI machine. Returns False without git."""
    if not git_available():
        print("note: git not found; skipped git init", file=sys.stderr)
        return False

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)

    git("init", "--quiet", "--initial-branch=main")
    identity = []
    for key, answer in (("user.name", "author_name"), ("user.email", "author_email")):
        configured = subprocess.run(["git", "config", key], cwd=root, capture_output=True, text=True).stdout.strip()
        if not configured:
            identity += ["-c", f"{key}={answers[answer]}"]
    git("add", "--all")
    git(*identity, "commit", "--quiet", "--no-verify", "-m", "Initial commit from flaskgen")
    return True


def main(answers: Mapping[str, Any], root: Path | None = None) -> int:
    root = root or Path.cwd()
    remove_paths(root, files_to_prune(answers))
    if answers.get("_git_init") in (True, "yes", "true", "True"):
        git_init(root, answers)
    return 0


if __name__ == "__main__":
    sys.exit(main(json.loads(r"""{{ cookiecutter | jsonify }}""")))

"""uv-native generated projects (issue 15): the lock made at generation and kept by `update`,
the Makefile's `uv sync --locked` and its pip fallback, and a generation that never fails for
want of uv or of the network. Real uv, real git, the real package index."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flaskgen.cli import app
from flaskgen.project import update
from flaskgen.testing import run_step, tool_env
from tests.helpers import (
    SLUG,
    UV,
    commit_all,
    edit,
    find_python,
    git,
    project_from,
    require,
    template_hook,
    template_repository,
)

runner = CliRunner()
post = template_hook("post_gen_project")


def uv_lock_check(project: Path) -> subprocess.CompletedProcess[str]:
    """`uv lock --check`: exit 0 only when uv.lock matches pyproject.toml (resolves nothing)."""
    return subprocess.run([UV, "lock", "--check"], cwd=project, capture_output=True, text=True, env=tool_env())


def new_project(root: Path, name: str, *options: str) -> Path:
    """`flaskgen new NAME --no-input` (Python 3.11) in root, plus options; the project's path."""
    result = runner.invoke(app, ["new", name, "--no-input", "-o", str(root), "--set", "python_version=3.11", *options])
    assert result.exit_code == 0, result.output
    return root / name.lower().replace(" ", "-")


def test_new_project_is_locked_in_its_first_commit(tmp_path: Path) -> None:
    project = new_project(tmp_path, "Locked Svc")
    assert "uv.lock" in git(project, "show", "--name-only", "--format=", "HEAD").splitlines()
    check = uv_lock_check(project)
    assert check.returncode == 0, check.stderr
    lock = (project / "uv.lock").read_text()
    assert 'name = "flask"' in lock and 'name = "pytest"' in lock  # runtime and the dev group
    pyproject = (project / "pyproject.toml").read_text()
    assert "[dependency-groups]" in pyproject and "optional-dependencies" not in pyproject


@pytest.fixture
def unlocked(tmp_path: Path) -> Path:
    """A generated project without a lock file (made with --no-lock, no git)."""
    return new_project(tmp_path, "Hook Svc", "--no-lock", "--no-git")


def test_no_lock_option(unlocked: Path) -> None:
    assert (unlocked / "pyproject.toml").is_file() and not (unlocked / "uv.lock").exists()


def test_without_uv_generation_goes_on_with_one_note(
    unlocked: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(post, "find_uv", lambda: None)
    post.main({**json.loads((unlocked / ".cruft.json").read_text())["context"]["cookiecutter"], "_uv_lock": True},
              root=unlocked)  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert err.startswith("note: uv not found") and "make lock" in err and "\n" not in err
    assert not (unlocked / "uv.lock").exists()


def test_offline_lock_failure_is_one_line_with_the_fix(
    unlocked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real uv, offline with an empty cache: it cannot resolve, and says so in one line."""
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-cache"))
    problem = post.lock_dependencies(unlocked)
    assert problem is not None and problem.startswith("uv lock failed (error:") and "make lock" in problem
    assert "\n" not in problem and not (unlocked / "uv.lock").exists()


def test_update_relocks_when_the_template_changes_pyproject(tmp_path: Path) -> None:
    template = template_repository(tmp_path)
    project = project_from(template, tmp_path / "work", "Relock Svc")
    assert (project / "uv.lock").is_file()
    before = (project / "uv.lock").read_text()
    edit(template / SLUG / "pyproject.toml", '  "gunicorn>=23.0",\n', '  "gunicorn>=23.0",\n  "itsdangerous>=2.2",\n')
    commit_all(template, "version B: itsdangerous is a direct dependency")

    result = update(project, no_input=True)
    # catalog-info.yaml's template-version annotation moves with every template commit.
    assert result.updated == ["catalog-info.yaml", "pyproject.toml"] and result.relocked and result.lock_problem is None
    after = (project / "uv.lock").read_text()
    assert after != before and uv_lock_check(project).returncode == 0
    # Pins are kept: every package of the old lock keeps its version.
    versions = [line for line in before.splitlines() if line.startswith("version = ")]
    assert all(line in after for line in versions)

    edit(template / SLUG / "deploy/gunicorn.conf.py", "keepalive = 5", "keepalive = 4")
    commit_all(template, "version C: no dependency change")
    commit_all(project, "update to B")
    assert not update(project, no_input=True).relocked  # pyproject.toml untouched: the lock is left alone


def test_make_install_syncs_from_the_lock_and_falls_back_to_pip(tmp_path: Path) -> None:
    """`make install`: `uv sync --locked` (a stale lock stops it with uv's message); without uv on
    PATH, python -m venv + pip >= 25.1 with `--group dev`."""
    python = find_python("3.11")
    require(python is not None, "no Python 3.11 on this machine")
    project = new_project(tmp_path, "Make Svc")
    run_step("make install", ["make", "install", f"PYTHON={python}"], project, tool_env())
    assert (project / ".venv/bin/pytest").is_file() and (project / ".venv/bin/gunicorn").is_file()

    edit(project / "pyproject.toml", '  "gunicorn>=23.0",\n', '  "gunicorn>=23.0",\n  "itsdangerous>=2.2",\n')
    stale = subprocess.run(["make", "install", f"PYTHON={python}"], cwd=project, env=tool_env(), capture_output=True,
                           text=True)  # fmt: skip
    assert stale.returncode != 0 and "uv lock" in stale.stderr, stale.stderr
    run_step("make lock", ["make", "lock", f"PYTHON={python}"], project, tool_env())
    run_step("make install", ["make", "install", f"PYTHON={python}"], project, tool_env())

    shutil.rmtree(project / ".venv")
    no_uv = {**tool_env(), "PATH": "/usr/bin:/bin"}
    run_step("make install without uv", ["make", "install", f"PYTHON={python}"], project, no_uv)
    assert (project / ".venv/bin/pip").is_file() and (project / ".venv/bin/pytest").is_file()
    lock = subprocess.run(["make", "lock"], cwd=project, env=no_uv, capture_output=True, text=True)
    assert lock.returncode == 2 and "uv is not installed" in lock.stdout

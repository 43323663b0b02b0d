"""Organisation features with real git repositories: presets, the answers file, check, diff, update."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flaskgen.cli import app
from flaskgen.project import ANSWERS_FILE
from flaskgen.testing import run_step, tool_env
from tests.helpers import SLUG, commit_all, edit, find_python, git, project_from, require, template_repository

runner = CliRunner()
README = f"{SLUG}/README.md"
GUNICORN = f"{SLUG}/deploy/gunicorn.conf.py"
DEV_LINE = "make dev         # flask run --debug on http://127.0.0.1:5000 (APP_ENV=development)"


@pytest.fixture
def template_repo(tmp_path: Path) -> Path:
    """A copy of the template in a git repository of its own, at version A."""
    return template_repository(tmp_path)


@pytest.fixture
def project(template_repo: Path, tmp_path: Path) -> Path:
    """A project made from version A, with one generated file edited and one file added, committed."""
    root = project_from(template_repo, tmp_path / "work", "Orders API")
    edit(root / "README.md", DEV_LINE, "make dev         # our team serves on port 5000")
    (root / "NOTES.md").write_text("team notes\n")
    commit_all(root, "our edits")
    return root


def move_template_to_b(template_repo: Path) -> str:
    """Version B: README (non-overlapping title change + the line the user edited) and gunicorn."""
    edit(template_repo / README, "# {{ cookiecutter.project_name }}\n", "# {{ cookiecutter.project_name }} service\n")
    edit(template_repo / README, DEV_LINE, "make dev         # development server with the debugger")
    edit(template_repo / GUNICORN, "keepalive = 5", "keepalive = 4")
    return commit_all(template_repo, "version B")


def test_answers_file_is_cruft_compatible(project: Path, template_repo: Path) -> None:
    record = json.loads((project / ANSWERS_FILE).read_text())
    assert record["template"] == str(template_repo)
    assert record["commit"] == git(template_repo, "rev-parse", "HEAD")
    assert record["directory"] == "template"
    assert record["context"]["cookiecutter"]["database"] == "none"
    assert record["context"]["cookiecutter"]["_commit"] == record["commit"]
    assert not [k for k in record["context"]["cookiecutter"] if k.startswith("_") and k not in ("_template", "_commit")]


def cruft_check(project: Path) -> int:
    cruft = shutil.which("cruft", path=str(Path(sys.executable).parent))
    require(cruft is not None, "cruft is not installed (it is in the dev extra)")
    return subprocess.run([cruft, "check", "--project-dir", str(project)], capture_output=True).returncode


def test_update_merges_template_changes_and_keeps_user_edits(project: Path, template_repo: Path) -> None:
    a = git(template_repo, "rev-parse", "HEAD")
    assert runner.invoke(app, ["check", str(project)]).exit_code == 0
    assert cruft_check(project) == 0
    b = move_template_to_b(template_repo)

    behind = runner.invoke(app, ["check", str(project)])
    assert behind.exit_code == 1
    assert f"{a[:12]} -> {b[:12]}" in behind.output
    assert "modified README.md" in " ".join(behind.output.split()) and "deploy/gunicorn.conf.py" in behind.output
    assert cruft_check(project) == 1  # cruft agrees: behind

    result = runner.invoke(app, ["update", str(project)])
    assert result.exit_code == 1, result.output  # one conflict to resolve
    assert "1 conflict(s)" in result.output
    readme = (project / "README.md").read_text()
    assert readme.startswith("# Orders API service\n")  # B's non-overlapping change merged in
    assert readme.count("<<<<<<< yours") == 1 and readme.count(">>>>>>> template") == 1
    assert "our team serves on port 5000" in readme  # the user's edit is kept inside the conflict
    assert "development server with the debugger" in readme
    assert "keepalive = 4" in (project / "deploy/gunicorn.conf.py").read_text()
    assert (project / "NOTES.md").read_text() == "team notes\n"
    assert json.loads((project / ANSWERS_FILE).read_text())["commit"] == b

    # Resolve the conflict by keeping the user's line, commit, and the project is current.
    lines, keep = [], True
    for line in readme.splitlines(keepends=True):
        if line.startswith("<<<<<<<"):
            continue
        if line.startswith("======="):
            keep = False
            continue
        if line.startswith(">>>>>>>"):
            keep = True
            continue
        if keep:
            lines.append(line)
    (project / "README.md").write_text("".join(lines))
    commit_all(project, "update to B")
    assert runner.invoke(app, ["check", str(project)]).exit_code == 0
    assert cruft_check(project) == 0
    assert runner.invoke(app, ["update", str(project)]).output.startswith("already up to date")

    python = find_python("3.11")
    require(python is not None, "no Python 3.11 for the generated project")
    run_step("make test after update", ["make", "test", f"PYTHON={python}"], project, tool_env())


def test_check_json_and_diff(project: Path, template_repo: Path) -> None:
    move_template_to_b(template_repo)
    result = runner.invoke(app, ["check", str(project), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["up_to_date"] is False
    # catalog-info.yaml: its flaskgen/template-version annotation names the template commit (no releases here)
    assert report["changes"]["modified"] == ["README.md", "catalog-info.yaml", "deploy/gunicorn.conf.py"]
    diff = runner.invoke(app, ["diff", str(project)])
    assert diff.exit_code == 0
    assert "+make dev         # our team serves on port 5000" in diff.output
    assert "+++ b/NOTES.md" in diff.output
    assert "gunicorn" not in diff.output  # diff is against the recorded version A, not B


def test_update_with_set_switches_ci_files(project: Path) -> None:
    workflow = project / ".github/workflows/ci.yml"
    assert workflow.is_file()
    result = runner.invoke(app, ["update", str(project), "--set", "ci=gitlab"])
    assert result.exit_code == 0, result.output
    assert not (project / ".github").exists()  # untouched files of the old choice are removed
    assert (project / ".gitlab-ci.yml").is_file()
    assert json.loads((project / ANSWERS_FILE).read_text())["context"]["cookiecutter"]["ci"] == "gitlab"


def test_dry_run_shows_removed_and_added_files(project: Path) -> None:
    dry = runner.invoke(app, ["update", str(project), "--set", "ci=gitlab", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "--- a/.github/workflows/ci.yml\n+++ /dev/null" in dry.output
    assert "--- /dev/null\n+++ b/.gitlab-ci.yml" in dry.output
    assert (project / ".github/workflows/ci.yml").is_file() and not (project / ".gitlab-ci.yml").exists()


def test_update_keeps_touched_files_of_the_old_choice(project: Path) -> None:
    workflow = project / ".github/workflows/ci.yml"
    workflow.write_text(workflow.read_text() + "# our extra step\n")
    commit_all(project, "touch CI")
    result = runner.invoke(app, ["update", str(project), "--set", "ci=gitlab"])
    assert result.exit_code == 0, result.output
    assert workflow.is_file() and "kept" in result.output and ".github/workflows/ci.yml" in result.output


def test_update_refuses_a_dirty_tree_and_dry_run_writes_nothing(project: Path, template_repo: Path) -> None:
    move_template_to_b(template_repo)
    (project / "NOTES.md").write_text("uncommitted\n")
    refused = runner.invoke(app, ["update", str(project)])
    assert refused.exit_code == 2 and "uncommitted changes" in refused.output
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file() and ".git" not in p.parts}
    dry = runner.invoke(app, ["update", str(project), "--dry-run"])
    assert "-keepalive = 5" in dry.output and "+keepalive = 4" in dry.output
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file() and ".git" not in p.parts} == before
    assert runner.invoke(app, ["update", str(project), "--allow-dirty"]).exit_code == 1  # README conflict
    assert (project / "NOTES.md").read_text() == "uncommitted\n"


@pytest.mark.parametrize("command", ["check", "diff", "update"])
def test_not_a_project_is_an_error(tmp_path: Path, command: str) -> None:
    result = runner.invoke(app, [command, str(tmp_path)])
    assert result.exit_code == 2
    assert f"has no {ANSWERS_FILE}" in result.output


# --- presets --------------------------------------------------------------------------------


def write_preset(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_locked_preset_answer(tmp_path: Path) -> None:
    preset = write_preset(tmp_path / "org.toml", '[defaults]\nci = "gitlab"\n[locked]\ndatabase = "postgresql"\n')
    out = tmp_path / "out"
    refused = runner.invoke(
        app, ["new", "A", "--no-input", "--preset", str(preset), "--set", "database=sqlite", "-o", str(out)]
    )
    assert refused.exit_code == 2
    assert "locked to 'postgresql'" in refused.output and str(preset) in refused.output
    assert not out.exists()
    made = runner.invoke(app, ["new", "A", "--no-input", "--no-git", "--preset", str(preset), "-o", str(out)])
    assert made.exit_code == 0, made.output
    assert "psycopg" in (out / "a/pyproject.toml").read_text()
    assert (out / "a/.gitlab-ci.yml").is_file()  # a default, still overridable:
    other = runner.invoke(
        app, ["new", "B", "--no-input", "--no-git", "--preset", str(preset), "--set", "ci=none", "-o", str(out)]
    )
    assert other.exit_code == 0 and not (out / "b/.gitlab-ci.yml").exists()


def test_locked_answers_are_not_prompted(tmp_path: Path) -> None:
    preset = write_preset(tmp_path / "org.toml", '[locked]\ndatabase = "none"\n')
    result = runner.invoke(app, ["new", "A", "--no-git", "--preset", str(preset), "-o", str(tmp_path)], input="\n" * 30)
    assert result.exit_code == 0, result.output
    assert "Database" not in result.output
    assert "Gunicorn worker class" in result.output


def test_preset_from_env_and_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "config" / "flaskgen" / "preset.toml"
    user.parent.mkdir(parents=True)
    write_preset(user, '[locked]\ntask_queue = "rq"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert runner.invoke(app, ["new", "U", "--no-input", "--no-git", "-o", str(tmp_path)]).exit_code == 0
    assert (tmp_path / "u/src/u/tasks.py").is_file()
    monkeypatch.setenv("FLASKGEN_PRESET", str(write_preset(tmp_path / "env.toml", '[locked]\ntask_queue = "celery"\n')))
    assert runner.invoke(app, ["new", "E", "--no-input", "--no-git", "-o", str(tmp_path)]).exit_code == 0
    assert "celery" in (tmp_path / "e/pyproject.toml").read_text()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[locked]\ndatabase = "mysql"\n', "choose one of: sqlite, postgresql, none"),
        ('[locked]\ndatabse = "sqlite"\n', "unknown option 'databse'"),
        ('colour = "blue"\n', "unknown key 'colour'"),
        ("[locked\n", "not valid TOML"),
        ('locked = "x"\n', "must be a table"),
    ],
)
def test_bad_presets(tmp_path: Path, text: str, fragment: str) -> None:
    preset = write_preset(tmp_path / "bad.toml", text)
    result = runner.invoke(app, ["new", "A", "--no-input", "--preset", str(preset), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert fragment in result.output and "bad.toml" in result.output
    assert not (tmp_path / "out").exists()


def test_preset_names_the_template(tmp_path: Path, template_repo: Path) -> None:
    edit(
        template_repo / README, "# {{ cookiecutter.project_name }}\n", "# {{ cookiecutter.project_name }} (org fork)\n"
    )
    commit_all(template_repo, "fork")
    preset = write_preset(tmp_path / "org.toml", f'template = "{template_repo}"\n')
    result = runner.invoke(app, ["new", "F", "--no-input", "--no-git", "--preset", str(preset), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "f/README.md").read_text().startswith("# F (org fork)")

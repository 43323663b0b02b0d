"""Template releases with real git repositories: versions and changelog in `check`, `update --to`,
answers that change between versions, preset locks, release migrations, cruft's skip list, and
cruft itself on both sides (issue 12; README.md, "Organisation-wide: presets, answers, check, update")."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flaskgen.cli import app
from flaskgen.project import ANSWERS_FILE
from flaskgen.releases import changelog_sections, parse_version
from flaskgen.testing import run_step, tool_env
from tests.helpers import REPO, SLUG, commit_all, edit, git, project_from, require, template_repository

runner = CliRunner()
CHANGELOG_1_0 = "# Changelog\n\n## [Unreleased]\n\n## [1.0.0] - 2026-11-01\n### Added\n- First release.\n"


def release(repo: Path, version: str, changelog: str, message: str | None = None) -> str:
    """Add a CHANGELOG section for version on top of [Unreleased], commit everything, tag it."""
    edit(repo / "CHANGELOG.md", "## [Unreleased]\n", f"## [Unreleased]\n\n## [{version}] - 2026-11-24\n{changelog}\n")
    commit = commit_all(repo, message or f"release {version}")
    git(repo, "tag", "--annotate", f"v{version}", "-m", f"v{version}")
    return commit


@pytest.fixture
def template_repo(tmp_path: Path) -> Path:
    """The template in a repository of its own, released as v1.0.0."""
    return template_repository(tmp_path, changelog=CHANGELOG_1_0, tag="v1.0.0")  # lightweight: both kinds count


def make_project(template_repo: Path, tmp_path: Path, **overrides: Any) -> Path:
    return project_from(template_repo, tmp_path / "work", "Orders API", **overrides)


def add_team_variable(repo: Path) -> None:
    """A new variable, used in the generated README."""
    context = json.loads((repo / "template/cookiecutter.json").read_text())
    items = list(context.items())
    items.insert(items.index(("license", context["license"])) + 1, ("team", "platform"))
    (repo / "template/cookiecutter.json").write_text(json.dumps(dict(items), indent=2) + "\n")
    edit(
        repo / SLUG / "README.md",
        "# {{ cookiecutter.project_name }}\n",
        "# {{ cookiecutter.project_name }}\n\nOwned by {{ cookiecutter.team }}.\n",
    )


def answers(project: Path) -> dict[str, Any]:
    return json.loads((project / ANSWERS_FILE).read_text())


def test_versions_changelog_and_update_to_the_newest_release(template_repo: Path, tmp_path: Path) -> None:
    project = make_project(template_repo, tmp_path)
    edit(project / "deploy/gunicorn.conf.py", "keepalive = 5", "keepalive = 7  # our load balancer")
    commit_all(project, "our edit")
    up = runner.invoke(app, ["check", str(project)])
    assert up.exit_code == 0 and "at 1.0.0" in up.output, up.output

    add_team_variable(template_repo)
    release(template_repo, "1.1.0", "### Added\n- The `team` variable: who owns the service.")
    edit(template_repo / SLUG / "deploy/gunicorn.conf.py", "timeout = ", "timeout =  ")  # unreleased work
    commit_all(template_repo, "work after 1.1.0")

    behind = runner.invoke(app, ["check", str(project)])
    assert behind.exit_code == 1
    assert "1.0.0 -> 1.1.0 (1 release behind)" in behind.output
    assert "## [1.1.0]" in behind.output and "who owns the service" in behind.output
    assert "modified README.md" in " ".join(behind.output.split())
    report = json.loads(runner.invoke(app, ["check", str(project), "--json"]).output)
    assert (report["current_version"], report["latest_version"], report["releases_behind"]) == ("1.0.0", "1.1.0", 1)
    assert report["changelog"] == [
        {"version": "1.1.0", "text": "### Added\n- The `team` variable: who owns the service."}
    ]
    assert report["latest_commit"] == git(template_repo, "rev-parse", "v1.1.0^{commit}")

    updated = runner.invoke(app, ["update", str(project), "--no-input"])
    assert updated.exit_code == 0, updated.output
    assert "new answer team = platform" in updated.output
    assert "Owned by platform." in (project / "README.md").read_text()
    assert "keepalive = 7  # our load balancer" in (project / "deploy/gunicorn.conf.py").read_text()
    assert "timeout =  " not in (project / "deploy/gunicorn.conf.py").read_text()  # the release, not HEAD
    record = answers(project)
    assert record["context"]["cookiecutter"]["team"] == "platform"
    assert record["commit"] == git(template_repo, "rev-parse", "v1.1.0^{commit}")
    commit_all(project, "update to 1.1.0")
    assert runner.invoke(app, ["check", str(project)]).exit_code == 0

    # --to HEAD takes the unreleased commit; the project is then ahead of 1.1.0, still current.
    head = runner.invoke(app, ["update", str(project), "--to", "HEAD"])
    assert head.exit_code == 0, head.output
    assert "timeout =  " in (project / "deploy/gunicorn.conf.py").read_text()
    commit_all(project, "update to HEAD")
    assert runner.invoke(app, ["check", str(project)]).exit_code == 0
    assert runner.invoke(app, ["update", str(project)]).output.startswith("already up to date at 1.1.0")


def test_update_to_a_release_and_refusals(template_repo: Path, tmp_path: Path) -> None:
    project = make_project(template_repo, tmp_path)
    edit(template_repo / SLUG / "deploy/gunicorn.conf.py", "keepalive = 5", "keepalive = 4")
    release(template_repo, "1.1.0", "### Changed\n- keepalive 4 s.")
    edit(template_repo / SLUG / "deploy/gunicorn.conf.py", "keepalive = 4", "keepalive = 3")
    release(template_repo, "2.0.0", "### Changed\n- keepalive 3 s.")

    report = json.loads(runner.invoke(app, ["check", str(project), "--json"]).output)
    assert report["releases_behind"] == 2
    assert [section["version"] for section in report["changelog"]] == ["2.0.0", "1.1.0"]

    unknown = runner.invoke(app, ["update", str(project), "--to", "v9.9.9"])
    assert unknown.exit_code == 2 and "no release 'v9.9.9'" in unknown.output and "v2.0.0" in unknown.output
    step = runner.invoke(app, ["update", str(project), "--to", "v1.1.0"])
    assert step.exit_code == 0, step.output
    assert "1.0.0 -> 1.1.0 (1 release behind)" in step.output
    assert "keepalive = 4" in (project / "deploy/gunicorn.conf.py").read_text()
    commit_all(project, "1.1.0")
    down = runner.invoke(app, ["update", str(project), "--to", "1.0.0"])
    assert down.exit_code == 2 and "does not downgrade" in down.output
    assert runner.invoke(app, ["check", str(project)]).exit_code == 1  # 2.0.0 is out
    assert runner.invoke(app, ["update", str(project)]).exit_code == 0
    assert "keepalive = 3" in (project / "deploy/gunicorn.conf.py").read_text()


def test_answers_that_change_between_versions(template_repo: Path, tmp_path: Path) -> None:
    project = make_project(template_repo, tmp_path)
    add_team_variable(template_repo)
    release(template_repo, "1.1.0", "### Added\n- team.")
    prompted = runner.invoke(app, ["update", str(project), "--dry-run"], input="payments\n")
    assert prompted.exit_code == 0, prompted.output
    assert "team" in prompted.output and "new answer team = payments" in prompted.output
    assert runner.invoke(app, ["update", str(project), "--no-input", "--set", "team=search"]).exit_code == 0
    assert answers(project)["context"]["cookiecutter"]["team"] == "search"
    commit_all(project, "1.1.0")

    # 2.0.0 drops `team` and no longer offers database=none.
    context = json.loads((template_repo / "template/cookiecutter.json").read_text())
    del context["team"]
    context["database"] = ["sqlite", "postgresql"]
    (template_repo / "template/cookiecutter.json").write_text(json.dumps(context, indent=2) + "\n")
    edit(template_repo / SLUG / "README.md", "\nOwned by {{ cookiecutter.team }}.\n", "")
    release(template_repo, "2.0.0", "### Removed\n- team; database=none.")
    invalid = runner.invoke(app, ["update", str(project), "--no-input"])
    assert invalid.exit_code == 2
    assert "database='none' is not valid in this template version (choices: sqlite, postgresql)" in invalid.output
    assert "--set database=" in invalid.output

    preset = tmp_path / "org.toml"
    preset.write_text('[locked]\ndatabase = "postgresql"\n')
    locked = runner.invoke(
        app, ["update", str(project), "--no-input", "--set", "database=sqlite", "--preset", str(preset)]
    )
    assert locked.exit_code == 2 and "database is locked to 'postgresql'" in locked.output

    fixed = runner.invoke(
        app, ["update", str(project), "--no-input", "--set", "database=postgresql", "--preset", str(preset)]
    )
    assert fixed.exit_code == 0, fixed.output
    assert "dropped answer team" in fixed.output
    context = answers(project)["context"]["cookiecutter"]
    assert "team" not in context and context["database"] == "postgresql"
    assert "Owned by" not in (project / "README.md").read_text()
    assert "psycopg" in (project / "pyproject.toml").read_text()


def test_release_migration_moves_the_users_edit(template_repo: Path, tmp_path: Path) -> None:
    project = make_project(template_repo, tmp_path)
    edit(
        project / "deploy/README.md",
        "## Install (Debian/Ubuntu, one host)\n",
        "## Install (Debian/Ubuntu, one host)\n\nOur hosts: web-1, web-2.\n",
    )
    commit_all(project, "our deploy notes")

    (template_repo / SLUG / "docs").mkdir(exist_ok=True)
    git(template_repo, "mv", f"{SLUG}/deploy/README.md", f"{SLUG}/docs/deploy.md")
    edit(
        template_repo / SLUG / "docs/deploy.md",
        "# Deploying {{ cookiecutter.project_name }}\n",
        "# Deploying {{ cookiecutter.project_name }} (moved to docs/)\n",
    )
    (template_repo / "template/migrations").mkdir()
    (template_repo / "template/migrations/1.1.0.py").write_text(
        "from pathlib import Path\n\n\n"
        "def migrate(project_dir: Path, answers: dict) -> None:\n"
        '    """deploy/README.md moved to docs/deploy.md; idempotent."""\n'
        '    old, new = project_dir / "deploy/README.md", project_dir / "docs/deploy.md"\n'
        "    if old.exists() and not new.exists():\n"
        "        new.parent.mkdir(exist_ok=True)\n"
        "        old.rename(new)\n"
    )
    (template_repo / "template/migrations/2.0.0.py").write_text(
        "def migrate(project_dir, answers):\n    raise AssertionError('not crossed')\n"
    )
    release(template_repo, "1.1.0", "### Changed\n- The deploy guide is docs/deploy.md.")

    result = runner.invoke(app, ["update", str(project), "--no-input"])
    assert result.exit_code == 0, result.output
    assert "ran the 1.1.0 migration" in result.output and "CONFLICT" not in result.output
    assert not (project / "deploy/README.md").exists()
    moved = (project / "docs/deploy.md").read_text()
    assert "Our hosts: web-1, web-2." in moved  # the user's edit followed the file
    assert "(moved to docs/)" in moved  # and the release's own change merged in
    assert "<<<<<<<" not in moved


def test_skip_list_keeps_the_users_version(template_repo: Path, tmp_path: Path) -> None:
    project = make_project(template_repo, tmp_path)
    record = answers(project)
    record["skip"] = ["README.md", "deploy/*.py"]
    (project / ANSWERS_FILE).write_text(json.dumps(record, indent=2) + "\n")
    edit(project / "README.md", "# Orders API\n", "# Orders API (ours)\n")
    commit_all(project, "skip README and deploy scripts")
    edit(
        template_repo / SLUG / "README.md",
        "# {{ cookiecutter.project_name }}\n",
        "# {{ cookiecutter.project_name }} service\n",
    )
    edit(template_repo / SLUG / "deploy/gunicorn.conf.py", "keepalive = 5", "keepalive = 4")
    edit(template_repo / SLUG / "Makefile", "PYTHON ?=", "PYTHON  ?=")
    release(template_repo, "1.1.0", "### Changed\n- README title, keepalive.")

    result = runner.invoke(app, ["update", str(project), "--no-input"])
    assert result.exit_code == 0, result.output
    assert "ignored  README.md" in result.output and "ignored  deploy/gunicorn.conf.py" in result.output
    assert (project / "README.md").read_text().startswith("# Orders API (ours)\n")
    assert "keepalive = 5" in (project / "deploy/gunicorn.conf.py").read_text()
    assert "PYTHON  ?=" in (project / "Makefile").read_text()  # not skip-listed: updated
    assert answers(project)["skip"] == ["README.md", "deploy/*.py"]  # the list survives the update


def follows_a_release(project: Path, template_repo: Path, *, made_by: str) -> None:
    """A project another tool generated, under git (put there when the tool did not): flaskgen
    calls it current, sees release 1.1.0 once it is out, and updates to it."""
    if not (project / ".git").exists():
        git(project, "init", "--quiet", "--initial-branch=main")
        commit_all(project, f"from {made_by}")
    assert runner.invoke(app, ["check", str(project)]).exit_code == 0
    edit(template_repo / SLUG / "deploy/gunicorn.conf.py", "keepalive = 5", "keepalive = 4")
    release(template_repo, "1.1.0", "### Changed\n- keepalive 4 s.")
    assert runner.invoke(app, ["check", str(project)]).exit_code == 1
    result = runner.invoke(app, ["update", str(project), "--no-input"])
    assert result.exit_code == 0, result.output
    assert "keepalive = 4" in (project / "deploy/gunicorn.conf.py").read_text()


def cruft(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("cruft", path=str(Path(sys.executable).parent))
    require(executable is not None, "cruft is not installed (it is in the dev extra)")
    assert executable is not None
    return subprocess.run([executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_cruft_updates_a_flaskgen_project(template_repo: Path, tmp_path: Path) -> None:
    project = make_project(template_repo, tmp_path)
    edit(template_repo / SLUG / "deploy/gunicorn.conf.py", "keepalive = 5", "keepalive = 4")
    release(template_repo, "1.1.0", "### Changed\n- keepalive 4 s.")
    assert cruft("check", cwd=project).returncode == 1
    updated = cruft("update", "--skip-apply-ask", "--checkout", "main", cwd=project)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "keepalive = 4" in (project / "deploy/gunicorn.conf.py").read_text()
    commit_all(project, "cruft update")
    assert runner.invoke(app, ["check", str(project)]).exit_code == 0  # flaskgen reads what cruft wrote


def test_flaskgen_updates_a_cruft_project(template_repo: Path, tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    context = json.dumps({"project_name": "Orders API", "database": "none"})
    made = cruft(
        "create",
        str(template_repo),
        "--directory",
        "template",
        "--no-input",
        "--extra-context",
        context,
        cwd=tmp_path / "work",
    )
    assert made.returncode == 0, made.stdout + made.stderr
    project = tmp_path / "work/orders-api"
    assert not (project / ".git").exists()  # cruft's renders make no repository (the hook's _output_dir rule)
    follows_a_release(project, template_repo, made_by="cruft")
    commit_all(project, "flaskgen update")
    assert cruft("check", cwd=project).returncode == 0  # and cruft reads what flaskgen wrote
    edit(template_repo / SLUG / "deploy/gunicorn.conf.py", "keepalive = 4", "keepalive = 3")
    release(template_repo, "1.2.0", "### Changed\n- keepalive 3 s.")
    updated = cruft("update", "--skip-apply-ask", "--checkout", "main", cwd=project)  # cruft's own, on its project
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "keepalive = 3" in (project / "deploy/gunicorn.conf.py").read_text()


@pytest.mark.parametrize(
    ("text", "version"), [("v1.2.3", (1, 2, 3)), ("1.2.3", (1, 2, 3)), ("v1.2", None), ("v1.2.3-rc1", None)]
)
def test_parse_version(text: str, version: tuple[int, int, int] | None) -> None:
    assert parse_version(text) == version


def test_changelog_sections() -> None:
    text = (
        "# Changelog\n\n## [Unreleased]\n- wip\n\n## [1.1.0] - 2026-11-24\n### Added\n- x\n\n"
        "## 1.0.0\n- first\n\n[1.1.0]: https://example.com/compare\n"
    )
    assert changelog_sections(text) == {"1.1.0": "### Added\n- x", "1.0.0": "- first"}


def test_plain_cookiecutter_records_a_source_flaskgen_follows(template_repo: Path, tmp_path: Path) -> None:
    executable = shutil.which("cookiecutter", path=str(Path(sys.executable).parent))
    assert executable is not None
    made = subprocess.run(
        [executable, str(template_repo), "--directory", "template", "--no-input", "-o", str(tmp_path / "work"),
         "project_name=Orders API", "database=none"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    project = tmp_path / "work/orders-api"
    record = answers(project)
    assert (record["template"], record["directory"]) == (str(template_repo), "template")
    assert record["commit"] == git(template_repo, "rev-parse", "HEAD")
    assert git(project, "log", "--format=%s") == "Initial commit from flaskgen"  # as `flaskgen new` makes it
    follows_a_release(project, template_repo, made_by="cookiecutter")


def snapshot(tmp_path: Path) -> Path:
    """This checkout as it is (tracked and untracked files, not ignored ones) in a repository of
    its own, so the acceptance test also covers uncommitted work."""
    listed = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    repo = tmp_path / "flaskgen-src"
    for name in filter(None, listed.split("\0")):
        if (REPO / name).is_file() or (REPO / name).is_symlink():  # template/hooks: a link, kept as one
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, repo / name, follow_symlinks=False)
    git(repo, "init", "--quiet", "--initial-branch=main")
    commit_all(repo, "flaskgen as it is")
    return repo


def flaskgen_cli(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv / "bin/flaskgen"), *args], cwd=cwd, env=tool_env(), capture_output=True, text=True)


def test_installed_wheel_records_a_source_that_check_and_update_reach(tmp_path: Path) -> None:
    """Issue 12's acceptance: a wheel built from a clone whose origin is a (bare, local) public
    repository; no --template anywhere."""
    origin = tmp_path / "public.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    source = snapshot(tmp_path)
    release(source, "0.1.0", "### Added\n- First release.")
    git(source, "push", "--quiet", "--follow-tags", str(origin), "main")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(origin), str(clone))
    env = tool_env()
    run_step(
        "uv build --wheel", ["uv", "build", "--wheel", "--out-dir", str(tmp_path / "dist"), str(clone)], clone, env
    )
    (wheel,) = (tmp_path / "dist").glob("flaskgen-*.whl")
    embedded = json.loads(zipfile.ZipFile(wheel).read("flaskgen/_origin.json"))
    assert embedded["template"] == str(origin) and embedded["commit"] == git(clone, "rev-parse", "HEAD")
    venv = tmp_path / "venv"
    run_step("uv venv", ["uv", "venv", "--quiet", "--python", sys.executable, str(venv)], tmp_path, env)
    run_step("uv pip install", ["uv", "pip", "install", "--quiet", "--python", str(venv / "bin/python"), str(wheel)],
             tmp_path, env)  # fmt: skip

    work = tmp_path / "empty"
    work.mkdir()
    made = flaskgen_cli(venv, "new", "Orders API", "--no-input", "--set", "database=none", cwd=work)
    assert made.returncode == 0, made.stderr
    project = work / "orders-api"
    assert answers(project)["template"] == str(origin)
    up = flaskgen_cli(venv, "check", cwd=project)
    assert up.returncode == 0 and "at 0.1.0" in up.stdout, up.stdout + up.stderr

    add_team_variable(source)
    release(source, "0.2.0", "### Added\n- The `team` variable names the owning team.")
    git(source, "push", "--quiet", "--follow-tags", str(origin), "main")
    (project / "README.md").write_text((project / "README.md").read_text() + "\nPaged by #orders-oncall.\n")
    commit_all(project, "our edit")

    behind = flaskgen_cli(venv, "check", cwd=project)
    assert behind.returncode == 1, behind.stdout + behind.stderr
    assert "0.1.0 -> 0.2.0 (1 release behind)" in behind.stdout
    assert "The `team` variable names the owning team." in behind.stdout
    updated = flaskgen_cli(venv, "update", "--no-input", cwd=project)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    readme = (project / "README.md").read_text()
    assert "Owned by platform." in readme and "Paged by #orders-oncall." in readme
    assert answers(project)["context"]["cookiecutter"]["team"] == "platform"
    commit_all(project, "flaskgen update")
    assert flaskgen_cli(venv, "check", cwd=project).returncode == 0


def test_unreachable_recorded_source_is_one_line(template_repo: Path, tmp_path: Path) -> None:
    project = make_project(template_repo, tmp_path)
    shutil.rmtree(template_repo)
    result = runner.invoke(app, ["check", str(project)])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: cannot reach the template {template_repo} recorded in {ANSWERS_FILE}; "
        "pass --template with a reachable URL or clone of it"
    )


def test_unreachable_remote_template_is_one_line(template_repo: Path, tmp_path: Path) -> None:
    """A recorded git URL that cannot be reached (here: a closed port): git's own reason on one
    line, exit 2, no traceback from Cookiecutter's clone."""
    project = make_project(template_repo, tmp_path)
    record = json.loads((project / ANSWERS_FILE).read_text())
    record["template"] = "https://127.0.0.1:9/nowhere/template.git"
    (project / ANSWERS_FILE).write_text(json.dumps(record, indent=2) + "\n")
    commit_all(project, "template moved")
    for command in ("check", "update"):
        result = subprocess.run(
            [sys.executable, "-m", "flaskgen", command], cwd=project, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 2, result
        assert result.stdout == "" and "Traceback" not in result.stderr, result
        assert result.stderr.startswith("error: cannot reach the template https://127.0.0.1:9/"), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr

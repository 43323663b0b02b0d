"""Every front door runs the template's hooks, which live once, in the top-level hooks/
(template/hooks is a relative link to it: README, "Where things live").

Each door bakes the default variant and shows both hooks ran: the pre-gen hook refuses a package
name that shadows the standard library (nothing on disk), and the post-gen hook pruned the files
of the options not chosen and wrote the answers file. The installed wheel's door is in
tests/test_package.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flaskgen.cli import app
from tests.helpers import (
    HOOKS,
    REPO,
    SLUG,
    TEMPLATE,
    commit_all,
    default_hooks_ran,
    edit,
    git,
    project_from,
    require,
    template_repository,
)

runner = CliRunner()
BAD = "package_name=json"
"""An answer the pre-gen hook refuses (it shadows the standard library)."""


def test_hooks_live_once_at_the_top() -> None:
    link = TEMPLATE / "hooks"
    assert link.is_symlink() and os.readlink(link) == "../hooks"
    assert link.resolve() == HOOKS.resolve()
    assert sorted(p.name for p in HOOKS.glob("*.py")) == ["post_gen_project.py", "pre_gen_project.py"]
    tracked = git(REPO, "ls-files", "--stage", "--", "template/hooks", "hooks").splitlines()
    assert [line.split()[0] for line in tracked if line.endswith("\ttemplate/hooks")] == ["120000"]  # a link
    assert not [line for line in tracked if "\ttemplate/hooks/" in line], "hook files tracked twice"


def refused(result: subprocess.CompletedProcess[str], out: Path) -> None:
    assert result.returncode != 0
    assert "shadows the standard library" in result.stdout + result.stderr
    assert not out.exists() or not any(out.iterdir()), sorted(out.rglob("*"))


def tool(name: str) -> str:
    executable = shutil.which(name, path=str(Path(sys.executable).parent))
    require(executable is not None, f"{name} is not installed (it is in the dev extra)")
    assert executable is not None
    return executable


def cookiecutter_env(tmp_path: Path) -> dict[str, str]:
    """No user config; Cookiecutter's clones and replays under tmp_path, not in ~."""
    config = tmp_path / "cookiecutter.yaml"
    config.write_text(
        f"cookiecutters_dir: {tmp_path / 'cookiecutters'}\nreplay_dir: {tmp_path / 'replay'}\ndefault_context: {{}}\n"
    )
    return {**os.environ, "COOKIECUTTER_CONFIG": str(config)}


def cookiecutter(source: str, tmp_path: Path, out: Path, *answers: str) -> subprocess.CompletedProcess[str]:
    command = [tool("cookiecutter"), "--no-input", "-o", str(out), source, "project_name=Orders API", *answers]
    return subprocess.run(command, env=cookiecutter_env(tmp_path), capture_output=True, text=True, timeout=300)


@pytest.fixture
def template_repo(tmp_path: Path) -> Path:
    """This checkout's template in a git repository of its own, laid out as this one."""
    repo = template_repository(tmp_path)
    assert git(repo, "ls-files", "--stage", "template/hooks").startswith("120000")
    return repo


def test_cookiecutter_on_a_checkout(tmp_path: Path) -> None:
    made = cookiecutter(str(REPO), tmp_path, tmp_path / "out")
    assert made.returncode == 0, made.stderr
    default_hooks_ran(tmp_path / "out/orders-api")
    refused(cookiecutter(str(REPO), tmp_path, tmp_path / "bad", BAD), tmp_path / "bad")


def test_cookiecutter_on_a_git_url(template_repo: Path, tmp_path: Path) -> None:
    """Cookiecutter clones the repository (git keeps the link) and follows the root file's nested
    `templates` key to template/."""
    url = "git+" + template_repo.as_uri()
    made = cookiecutter(url, tmp_path, tmp_path / "out")
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "cookiecutters/template-repo/template/hooks").is_symlink()  # the clone kept the link
    default_hooks_ran(tmp_path / "out/orders-api")
    refused(cookiecutter(url, tmp_path, tmp_path / "bad", BAD), tmp_path / "bad")


def test_cruft_create(template_repo: Path, tmp_path: Path) -> None:
    def create(out: Path, **answers: str) -> subprocess.CompletedProcess[str]:
        out.mkdir()
        context = json.dumps({"project_name": "Orders API", **answers})
        command = [tool("cruft"), "create", template_repo.as_uri(), "--directory", "template", "--no-input",
                   "--extra-context", context]  # fmt: skip
        return subprocess.run(command, cwd=out, env=cookiecutter_env(tmp_path), capture_output=True, text=True)

    made = create(tmp_path / "out")
    assert made.returncode == 0, made.stdout + made.stderr
    default_hooks_ran(tmp_path / "out/orders-api")
    refused(create(tmp_path / "bad", package_name="json"), tmp_path / "bad")


@pytest.mark.parametrize("source", ["checkout", "git URL"])
def test_flaskgen_new(source: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """From this checkout (the bundled template of an editable install) and with --template."""
    url = "git+" + request.getfixturevalue("template_repo").as_uri() if source == "git URL" else None
    template = ["--template", url] if url else []
    args = ["new", "Orders API", "--no-input", "--no-git", *template]
    result = runner.invoke(app, [*args, "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    default_hooks_ran(tmp_path / "out/orders-api")
    bad = runner.invoke(app, [*args, "-o", str(tmp_path / "bad"), "--set", BAD])
    assert bad.exit_code == 2 and "shadows the standard library" in bad.output
    assert not (tmp_path / "bad").exists()


def test_update_and_fleet_from_a_release_before_the_move(tmp_path: Path) -> None:
    """A project made at a release whose hooks were real files in template/hooks/: fleet renders
    that release (drift would list the pruned files if its hooks did not run), and update takes it
    to a release with the top-level hooks/."""
    repo = tmp_path / "template-repo"
    shutil.copytree(TEMPLATE, repo / "template")  # follows the link: real files, the old layout
    shutil.copy(REPO / "cookiecutter.json", repo / "cookiecutter.json")
    (repo / "CHANGELOG.md").write_text("# Changelog\n\n## [1.1.0]\n- hooks/ at the top.\n\n## [1.0.0]\n- First.\n")
    git(repo, "init", "--quiet", "--initial-branch=main")
    commit_all(repo, "1.0.0")
    git(repo, "tag", "v1.0.0")
    assert not (repo / "template/hooks").is_symlink()
    project = project_from(repo, tmp_path / "work", "Orders API", database="sqlite")
    default_hooks_ran(project)

    shutil.rmtree(repo / "template/hooks")
    shutil.copytree(HOOKS, repo / "hooks")
    (repo / "template/hooks").symlink_to("../hooks")
    edit(repo / SLUG / "deploy/gunicorn.conf.py", "keepalive = 5", "keepalive = 4")
    commit_all(repo, "1.1.0")
    git(repo, "tag", "v1.1.0")

    (tmp_path / "fleet.txt").write_text(f"{project}\n")
    status = runner.invoke(app, ["fleet", "status", str(tmp_path / "fleet.txt"), "--json", "--cache",
                                 str(tmp_path / "cache")])  # fmt: skip
    (row,) = json.loads(status.output)["repos"]
    assert (row["status"], row["current_version"], row["drift"], row["error"]) == ("behind", "1.0.0", [], None), row

    result = runner.invoke(app, ["update", str(project), "--no-input"])
    assert result.exit_code == 0, result.output
    assert "keepalive = 4" in (project / "deploy/gunicorn.conf.py").read_text()
    default_hooks_ran(project)
    commit_all(project, "flaskgen update")
    assert runner.invoke(app, ["check", str(project)]).exit_code == 0

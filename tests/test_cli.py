"""The flaskgen CLI as a user meets it: success, bad input, atomic generation, parity with cookiecutter."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flaskgen import __version__
from flaskgen.cli import app
from flaskgen.errors import OutputDirError
from flaskgen.generate import generate_project
from tests.helpers import REPO, require, write_tree

runner = CliRunner()
VARIABLES = [
    "project_name", "project_slug", "package_name", "description", "author_name", "author_email",
    "version", "python_version", "database", "task_queue", "worker_class", "log_format", "docker",
    "ci", "tls", "license",
]  # fmt: skip


def snapshot(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


def test_new_creates_the_project(tmp_path: Path) -> None:
    result = runner.invoke(app, ["new", "Orders API", "--no-input", "--no-git", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    project = tmp_path / "orders-api"
    assert (project / "src" / "orders_api" / "__init__.py").is_file()
    assert "Next steps" in result.output and "make test" in result.output
    assert snapshot(tmp_path) == {"orders-api", *(f"orders-api/{p}" for p in snapshot(project))}


def test_new_with_git_makes_a_first_commit(tmp_path: Path) -> None:
    result = runner.invoke(app, ["new", "Orders API", "--no-input", "--git", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    log = subprocess.run(["git", "log", "--oneline"], cwd=tmp_path / "orders-api", capture_output=True, text=True)
    assert log.stdout.count("\n") == 1


def test_set_answers_are_applied(tmp_path: Path) -> None:
    args = ["new", "Billing", "--no-input", "--no-git", "-o", str(tmp_path)]
    args += ["--set", "database=postgresql", "--set", "task_queue=rq", "--set", "docker=no", "--set", "ci=gitlab"]
    assert runner.invoke(app, args).exit_code == 0
    project = tmp_path / "billing"
    assert "psycopg" in (project / "pyproject.toml").read_text()
    assert (project / "src" / "billing" / "tasks.py").is_file()
    assert (project / ".gitlab-ci.yml").is_file()
    assert not (project / ".github").exists()
    assert not (project / "Dockerfile").exists()


def test_python_version_defaults_to_the_running_interpreter(tmp_path: Path) -> None:
    assert runner.invoke(app, ["new", "Orders API", "--no-input", "--no-git", "-o", str(tmp_path)]).exit_code == 0
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert f'requires-python = ">={running}"' in (tmp_path / "orders-api" / "pyproject.toml").read_text()


def test_interactive_prompts_reask_on_a_bad_answer(tmp_path: Path) -> None:
    # NAME answers project_name; then slug (default), package (bad, then default), rest defaults.
    answers = "\n" + "json\n" + "\n" * 30
    result = runner.invoke(app, ["new", "Orders API", "--no-git", "-o", str(tmp_path)], input=answers)
    assert result.exit_code == 0, result.output
    assert "shadows the standard library" in result.output
    assert (tmp_path / "orders-api" / "src" / "orders_api").is_dir()


def test_overwrite_writes_into_an_existing_project(tmp_path: Path) -> None:
    target = tmp_path / "orders-api"
    target.mkdir()
    (target / "NOTES.md").write_text("mine")
    args = ["new", "Orders API", "--no-input", "--no-git", "-o", str(tmp_path)]
    assert runner.invoke(app, args).exit_code == 2
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0
    assert (target / "NOTES.md").read_text() == "mine"
    assert (target / "pyproject.toml").is_file()


def test_overwrite_refuses_uncommitted_edits(tmp_path: Path) -> None:
    """A git work tree with uncommitted changes: one line naming them and the way out, exit 2,
    nothing changed (as `update` refuses); once committed, --overwrite goes ahead and git shows
    what it replaced."""
    args = ["new", "Orders API", "--no-input", "--no-lock", "-o", str(tmp_path), "--overwrite"]
    assert runner.invoke(app, args[:-1]).exit_code == 0
    project = tmp_path / "orders-api"
    items = project / "src/orders_api/items.py"
    items.write_text(items.read_text() + "# my edit\n")
    (project / "NOTES.md").write_text("mine\n")
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert "\n" not in message and "src/orders_api/items.py" in message and "NOTES.md" in message, message
    assert "commit or stash" in message, message
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == before

    subprocess.run(["git", "add", "--all"], cwd=project, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "mine"],
                   cwd=project, check=True)  # fmt: skip
    assert runner.invoke(app, args).exit_code == 0
    changed = subprocess.run(["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True)
    assert changed.stdout == " M src/orders_api/items.py\n"  # the template's version, the edit in git
    assert (project / "NOTES.md").read_text() == "mine\n"


def test_overwrite_outside_git_refuses_to_replace_edited_files(tmp_path: Path) -> None:
    """No git to get an edit back from: a file the template would replace with other content stops
    it (named, exit 2, nothing changed); files the template does not make are kept."""
    args = ["new", "Orders API", "--no-input", "--no-git", "--no-lock", "-o", str(tmp_path), "--overwrite"]
    assert runner.invoke(app, args[:-1]).exit_code == 0
    project = tmp_path / "orders-api"
    assert runner.invoke(app, args).exit_code == 0  # nothing edited: nothing to lose
    items = project / "src/orders_api/items.py"
    items.write_text(items.read_text() + "# my edit\n")
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert "\n" not in message and "src/orders_api/items.py" in message, message
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == before


def test_options_json_lists_every_variable() -> None:
    result = runner.invoke(app, ["options", "--json"])
    assert result.exit_code == 0
    options = {opt["name"]: opt for opt in json.loads(result.output)}
    assert set(VARIABLES) <= set(options)
    assert options["database"]["choices"] == ["sqlite", "postgresql", "none"]
    assert options["docker"]["kind"] == "boolean"
    assert options["project_slug"]["kind"] == "derived"


def test_options_table() -> None:
    result = runner.invoke(app, ["options"])
    assert result.exit_code == 0
    for text in ("worker_class", "gthread", "database", "sqlite", "docker", "yes, no"):
        assert text in result.output, text


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"flaskgen {__version__}"


def test_python_m_flaskgen_help() -> None:
    result = subprocess.run([sys.executable, "-m", "flaskgen", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "new" in result.stdout and "options" in result.stdout


# One case per way bad input reaches `new` (the name argument, --set through each coercion, the
# hook's rules, the template options); every rule of the hook itself is tested in test_hooks.py.
BAD_INPUTS = [
    (["json"], "shadows the standard library"),
    (["../evil"], "path separator"),
    ([""], "empty"),
    (["ok", "--set", "database=mysql"], "choose one of: sqlite, postgresql, none"),
    (["ok", "--set", "docker=maybe"], "not yes/no"),
    (["ok", "--set", "databse=sqlite"], "unknown option 'databse'"),
    (["ok", "--set", "_git_init=yes"], "unknown option '_git_init'"),
    (["ok", "--set", "database"], "not KEY=VALUE"),
    (["ok", "--set", "=sqlite"], "not KEY=VALUE"),
    (["ok", "--set", "project_slug=Orders_API"], "kebab-case"),
    (["ok", "--set", f"description={'d' * 201}"], "at most 200"),
    (["ok", "--template", "/nonexistent/template"], "not a directory or git URL"),
    (["ok", "--checkout", "main"], "--checkout needs --template"),
]


@pytest.mark.parametrize(("args", "fragment"), BAD_INPUTS, ids=[" ".join(a)[:40] for a, _ in BAD_INPUTS])
def test_bad_input_exits_2_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], fragment: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["new", *args, "--no-input", "--no-git"])
    assert result.exit_code == 2, result.output
    assert fragment in result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1
    assert "Traceback" not in result.output
    assert snapshot(tmp_path) == set()


def test_existing_target_is_refused_and_untouched(tmp_path: Path) -> None:
    target = tmp_path / "orders-api"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    result = runner.invoke(app, ["new", "Orders API", "--no-input", "--no-git", "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "already exists" in result.output and "--overwrite" in result.output
    assert snapshot(tmp_path) == {"orders-api", "orders-api/keep.txt"}


def test_output_dir_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    result = runner.invoke(app, ["new", "ok", "--no-input", "-o", str(tmp_path / "file")])
    assert result.exit_code == 2
    assert "not a directory" in result.output
    assert snapshot(tmp_path) == {"file"}


def test_unwritable_output_dir(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() == 0:
        target = Path("/proc/flaskgen-cannot-write-here")  # even root cannot create files in /proc
    else:
        locked.chmod(0o555)
        target = locked / "out"
    result = runner.invoke(app, ["new", "ok", "--no-input", "-o", str(target)])
    locked.chmod(0o755)
    assert result.exit_code == 2, result.output
    assert "writable --output-dir" in result.output
    assert snapshot(tmp_path) == {"locked"}
    assert not target.exists()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--debug", "new", "json", "--no-input", "-o", str(tmp_path)])
    assert result.exit_code != 0
    assert result.exception is not None and "shadows the standard library" in str(result.exception)


def test_a_script_hook_runs_once_by_cookiecutter_never_at_load(tmp_path: Path) -> None:
    """flaskgen reads a hook's functions by importing it; a hook without a __main__ guard does
    its work at import, so it must not be imported: Cookiecutter alone runs it, once."""
    runs = tmp_path / "runs.log"
    template = write_tree(
        tmp_path / "tpl",
        {
            "cookiecutter.json": '{"project_name": "x", "project_slug": "{{ cookiecutter.project_name }}"}',
            "{{cookiecutter.project_slug}}/README.md": "# {{ cookiecutter.project_name }}\n",
            "hooks/post_gen_project.py": f"with open({str(runs)!r}, 'a') as log:\n    log.write('ran\\n')\n",
            "hooks/pre_gen_project.py": f"with open({str(runs)!r}, 'a') as log:\n    log.write('pre\\n')\n",
        },
    )
    result = runner.invoke(
        app, ["new", "demo", "--no-input", "--no-git", "--template", str(template), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert runs.read_text() == "pre\nran\n"


def test_failing_template_hook_leaves_nothing(tmp_path: Path) -> None:
    template = write_tree(
        tmp_path / "tpl",
        {
            "cookiecutter.json": '{"project_name": "x", "project_slug": "{{ cookiecutter.project_name }}"}',
            "{{cookiecutter.project_slug}}/README.md": "# {{ cookiecutter.project_name }}\n",
            "hooks/post_gen_project.py": "import sys\nsys.exit(1)\n",
        },
    )
    out = tmp_path / "out"
    result = runner.invoke(app, ["new", "demo", "--no-input", "--template", str(template), "-o", str(out)])
    assert result.exit_code == 2
    assert "hook" in result.output
    assert not out.exists()  # the output dir this run created is removed too


def test_interrupt_during_render_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cookiecutter.main

    def interrupted(template: str, *, output_dir: str, **kwargs: object) -> str:
        half = Path(output_dir) / "orders-api"
        half.mkdir()
        (half / "half-written.py").write_text("x")
        raise KeyboardInterrupt

    monkeypatch.setattr(cookiecutter.main, "cookiecutter", interrupted)
    with pytest.raises(KeyboardInterrupt):
        generate_project(name="Orders API", no_input=True, output_dir=tmp_path)
    assert snapshot(tmp_path) == set()


def test_unwritable_error_type(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputDirError):
        generate_project(name="ok", no_input=True, output_dir=tmp_path / "file" / "sub")


RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"


def front_door_env(tmp_path: Path) -> dict[str, str]:
    """A machine with one Python (the one running here) and git, where uv may download Pythons
    (its default) into an empty directory: whatever lands there was downloaded. No user config."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, target in (("git", shutil.which("git")), ("python3", sys.executable)):
        assert target is not None
        (bin_dir / name).symlink_to(target)
    config = tmp_path / "cookiecutter.yaml"
    config.write_text(f"replay_dir: {tmp_path / 'replay'}\ndefault_context: {{}}\n")
    dropped = ("UV_PYTHON_DOWNLOADS", "UV_PYTHON", "VIRTUAL_ENV")
    return {**{k: v for k, v in os.environ.items() if k not in dropped}, "PATH": str(bin_dir),
            "UV_PYTHON_INSTALL_DIR": str(tmp_path / "downloaded"), "UV_PYTHON_DOWNLOADS": "automatic",
            "COOKIECUTTER_CONFIG": str(config)}  # fmt: skip


def both_front_doors(tmp_path: Path, *answers: str) -> tuple[Path, Path, str, str]:
    """`cookiecutter --no-input <checkout> answers...` and `flaskgen new --no-input --set answers...`
    (git and lock on, as a user runs them): the two projects and the two stderr texts."""
    env = front_door_env(tmp_path)
    bin_dir = Path(sys.executable).parent
    made = []
    for name, command in (
        ("cc", [str(bin_dir / "cookiecutter"), "--no-input", str(REPO), *answers]),
        ("fg", [str(bin_dir / "flaskgen"), "new", "--no-input", *(a for answer in answers for a in ("--set", answer))]),
    ):
        result = subprocess.run([*command, "-o", str(tmp_path / name)], env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        made.append(result.stderr)
    assert not (tmp_path / "downloaded").exists() or not any((tmp_path / "downloaded").iterdir()), "a download"
    return tmp_path / "cc/my-flask-service", tmp_path / "fg/my-flask-service", made[0], made[1]


def assert_same_project(left: Path, right: Path) -> None:
    """The same files, byte for byte, and each a git repository whose one commit holds them all."""
    files = snapshot(left) - {p for p in snapshot(left) if p == ".git" or p.startswith(".git/")}
    assert files == snapshot(right) - {p for p in snapshot(right) if p == ".git" or p.startswith(".git/")}
    regular = [p for p in files if (left / p).is_file()]
    _, mismatch, errors = filecmp.cmpfiles(left, right, regular, shallow=False)
    assert mismatch == [] and errors == []
    for project in (left, right):
        log = subprocess.run(["git", "log", "--format=%s"], cwd=project, capture_output=True, text=True, check=True)
        assert log.stdout.splitlines() == ["Initial commit from flaskgen"]
        tracked = subprocess.run(["git", "ls-files"], cwd=project, capture_output=True, text=True, check=True)
        assert set(tracked.stdout.splitlines()) == set(regular)


def test_cookiecutter_on_the_repo_makes_the_same_project(tmp_path: Path) -> None:
    """`cookiecutter --no-input <checkout>` (no --directory) == `flaskgen new` with the same answers:
    the same files, the lock made with the Python that is here, a git repository with one commit."""
    left, right, left_err, right_err = both_front_doors(tmp_path, f"python_version={RUNNING}")
    assert_same_project(left, right)
    assert (left / "uv.lock").is_file(), left_err
    assert left_err == right_err == ""


def test_front_doors_never_download_a_python(tmp_path: Path) -> None:
    """python_version above the only Python here: no download (although uv's own setting allows
    it), no lock, the same project through both doors and one note line saying how to fix it."""
    wanted = next((v for v in ("3.11", "3.12", "3.13") if tuple(map(int, v.split("."))) > sys.version_info[:2]), None)
    require(wanted is not None, f"Python {RUNNING} satisfies every python_version choice: none is missing here")
    left, right, left_err, right_err = both_front_doors(tmp_path, f"python_version={wanted}")
    assert_same_project(left, right)
    assert not (left / "uv.lock").exists()
    assert left_err == right_err
    (note,) = left_err.splitlines()
    assert note.startswith(f"note: no Python {wanted} or newer on this machine"), note
    assert f"uv python install {wanted}" in note and f"make lock PYTHON={wanted}" in note, note

"""The installed package, as a new user gets it: build the wheel, install it into a fresh venv,
run `flaskgen new` in an empty directory outside the repository, then that project's own tests."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from flaskgen.testing import run_step, tool_env
from tests.helpers import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    run_step("uv build --wheel", ["uv", "build", "--wheel", "--out-dir", str(dist), str(REPO)], REPO, tool_env())
    (built,) = dist.glob("flaskgen-*.whl")
    return built


def test_wheel_ships_the_template(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "flaskgen/_template/cookiecutter.json" in names
    assert "flaskgen/_template/hooks/pre_gen_project.py" in names
    assert any(name.startswith("flaskgen/_template/{{cookiecutter.project_slug}}/src/") for name in names)


def test_installed_flaskgen_generates_a_working_project(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    env = tool_env()
    # The README's way: venv + pip (pip also byte-compiles the installed template's .py files).
    run_step("python -m venv", [sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    run_step(
        "pip install wheel", [str(venv / "bin/python"), "-m", "pip", "install", "--quiet", str(wheel)], tmp_path, env
    )
    work = tmp_path / "empty"
    work.mkdir()
    result = subprocess.run(
        [str(venv / "bin/flaskgen"), "new", "Orders API", "--no-input"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    project = work / "orders-api"
    assert not list(project.rglob("__pycache__")), "bytecode of the installed template leaked into the project"
    # The template came from the installed package, not from this checkout.
    located = subprocess.run(
        [str(venv / "bin/python"), "-c", "from flaskgen.template import bundled_template_dir as b; print(b())"],
        cwd=work, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert located.startswith(str(venv)), located
    run_step("make test", ["make", "test", f"PYTHON={sys.executable}"], project, env)

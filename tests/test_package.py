"""The installed package, as a new user gets it: build the wheel, install it into a fresh venv,
run `flaskgen new` in an empty directory outside the repository, then that project's own tests."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from flaskgen.testing import run_step, tool_env
from tests.helpers import HOOKS, REPO, TEMPLATE, UV, default_hooks_ran, require


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    run_step("uv build --wheel", ["uv", "build", "--wheel", "--out-dir", str(dist), str(REPO)], REPO, tool_env())
    (built,) = dist.glob("flaskgen-*.whl")
    return built


def packaged_template(wheel: Path) -> dict[str, bytes]:
    """The wheel's flaskgen/_template/ files: path inside the template -> content."""
    with zipfile.ZipFile(wheel) as archive:
        prefix = "flaskgen/_template/"
        return {name[len(prefix) :]: archive.read(name) for name in archive.namelist() if name.startswith(prefix)}


def test_wheel_ships_the_template(wheel: Path, tmp_path: Path) -> None:
    """Every file of template/ as real files, the hooks behind the template/hooks link included;
    the same from a wheel built out of the sdist (which stores the hooks once, under hooks/)."""
    on_disk = {
        path.relative_to(TEMPLATE).as_posix(): path.read_bytes()
        for path in sorted(TEMPLATE.rglob("*"))  # rglob does not follow the link: add the hooks
        if path.is_file() and "__pycache__" not in path.parts
    } | {f"hooks/{path.name}": path.read_bytes() for path in sorted(HOOKS.glob("*.py"))}
    assert {"cookiecutter.json", "hooks/pre_gen_project.py", "hooks/post_gen_project.py"} <= set(on_disk)
    assert packaged_template(wheel) == on_disk

    dist = tmp_path / "dist"
    run_step("uv build (sdist, then its wheel)", ["uv", "build", "--out-dir", str(dist), str(REPO)], REPO, tool_env())
    (sdist,) = dist.glob("flaskgen-*.tar.gz")
    with tarfile.open(sdist) as archive:
        assert not [member.name for member in archive.getmembers() if member.issym()], "a link in the sdist"
    (from_sdist,) = dist.glob("flaskgen-*.whl")
    assert packaged_template(from_sdist) == on_disk


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
    default_hooks_ran(project)
    bad = ["new", "Orders API", "--no-input", "--set", "package_name=json", "-o", "bad"]
    refused = subprocess.run([str(venv / "bin/flaskgen"), *bad], cwd=work, env=env, capture_output=True, text=True)
    assert refused.returncode == 2 and "shadows the standard library" in refused.stderr, refused.stderr
    assert not (work / "bad").exists()
    # The template came from the installed package, not from this checkout.
    located = subprocess.run(
        [str(venv / "bin/python"), "-c", "from flaskgen.template import bundled_template_dir as b; print(b())"],
        cwd=work, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert located.startswith(str(venv)), located
    # The build's record names the template: the catalog annotations and `flaskgen backstage` use it.
    origin = json.loads((Path(located).parent / "_origin.json").read_text())
    component = next(yaml.safe_load_all((project / "catalog-info.yaml").read_text()))
    assert component["metadata"]["annotations"]["flaskgen/template"] == origin["template"]
    backstage = [str(venv / "bin/flaskgen"), "backstage", "-o", "portal"]
    if origin["template"].startswith(("https://", "http://")):
        run_step("flaskgen backstage", backstage, work, env)
        steps = yaml.safe_load((work / "portal/template.yaml").read_text())["spec"]["steps"]
        assert steps[0]["input"]["url"].endswith(f"/tree/{origin['commit']}/template"), steps[0]["input"]["url"]
    else:  # a checkout cloned from a path (CI's clone): Backstage could not fetch it, and it is said in one line
        refused = subprocess.run(backstage, cwd=work, env=env, capture_output=True, text=True)
        assert refused.returncode == 2 and "is not a repository URL Backstage can fetch" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1 and not (work / "portal").exists()
    run_step("make test", ["make", "test", f"PYTHON={sys.executable}"], project, env)


SYSTEM_PYTHON = Path("/usr/bin/python3")


def test_uv_tool_install_with_the_system_python(tmp_path: Path) -> None:
    """The README's first way on a Debian/Ubuntu machine: the system Python is externally managed
    (PEP 668, its `pip install` refuses), and `uv tool install` of a checkout puts flaskgen in an
    environment of its own; then `flaskgen new` works and its project passes its tests there."""
    require(SYSTEM_PYTHON.is_file(), f"{SYSTEM_PYTHON} is not on this machine")
    marker = subprocess.run([str(SYSTEM_PYTHON), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
                            capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    require((Path(marker) / "EXTERNALLY-MANAGED").is_file(), f"{SYSTEM_PYTHON} is not externally managed (PEP 668)")
    tools, bin_dir = tmp_path / "tools", tmp_path / "bin"
    # What a user's shell has: uv's own directory and the tool bin directory, then the system's.
    env = {**tool_env(), "UV_TOOL_DIR": str(tools), "UV_TOOL_BIN_DIR": str(bin_dir),
           "PATH": f"{bin_dir}:{UV.parent}:/usr/bin:/bin"}  # fmt: skip
    refused = subprocess.run([str(SYSTEM_PYTHON), "-m", "pip", "install", "--dry-run", str(REPO)], env=env,
                             capture_output=True, text=True)  # fmt: skip
    assert refused.returncode != 0 and "externally-managed-environment" in refused.stderr
    run_step("uv tool install", [str(UV), "tool", "install", "--python", str(SYSTEM_PYTHON), str(REPO)], tmp_path, env)
    flaskgen = bin_dir / "flaskgen"
    installed = (tools / "flaskgen/bin/python").resolve()
    assert installed == SYSTEM_PYTHON.resolve(), installed
    work = tmp_path / "work"
    work.mkdir()
    made = subprocess.run([str(flaskgen), "new", "Tool Svc", "--no-input"], cwd=work, env=env, capture_output=True,
                          text=True)  # fmt: skip
    assert made.returncode == 0, made.stderr
    project = work / "tool-svc"
    assert (project / "uv.lock").is_file() and "note:" not in made.stderr, made.stderr
    run_step("make test", ["make", "test", f"PYTHON={SYSTEM_PYTHON}"], project, env)


def test_readme_install_line_when_the_tool_directory_is_not_on_path(tmp_path: Path) -> None:
    """A fresh HOME and a PATH without ~/.local/bin: after the README's `uv tool install .` the
    shell finds no flaskgen, and the two ways out the README gives right there both work."""
    readme = (REPO / "README.md").read_text()
    install = readme.index('uv tool install . && flaskgen new "Orders API"')
    way_out = readme[install : readme.index("\n\n", readme.index("```", install) + 4)]
    update_shell = "uv tool update-shell"
    (uvx,) = re.findall(r"`(uvx --from \. flaskgen new [^`]*)`", way_out)
    assert "command not found" in way_out and update_shell in way_out, way_out

    home, bin_dir = tmp_path / "home", tmp_path / "bin"
    home.mkdir()
    bin_dir.mkdir()
    for name in ("uv", "uvx"):
        (bin_dir / name).symlink_to(UV.parent / name)
    cache = subprocess.run([str(UV), "cache", "dir"], capture_output=True, text=True, check=True).stdout.strip()
    env = {key: value for key, value in tool_env().items() if not key.startswith(("XDG_", "UV_TOOL"))}
    env.update(HOME=str(home), PATH=f"{bin_dir}:/usr/bin:/bin", SHELL="/bin/bash", UV_CACHE_DIR=cache)

    def shell(command: str, *, login: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", *(["-i"] if login else []), "-c", command], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=600)  # fmt: skip

    installed = shell("uv tool install .")
    assert installed.returncode == 0 and "not on your PATH" in installed.stderr, installed.stderr
    assert shell("flaskgen --version").returncode == 127  # the user's `command not found`

    assert shell(update_shell).returncode == 0
    found = shell("flaskgen --version", login=True)  # a new terminal reads the updated ~/.bashrc
    assert found.returncode == 0 and found.stdout.startswith("flaskgen "), found.stdout + found.stderr

    made = shell(f"{uvx} --no-input --no-lock -o {tmp_path / 'out'}")
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "out/orders-api/pyproject.toml").is_file()

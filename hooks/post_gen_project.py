"""Finish the generated project: prune the files of options not chosen, lock its dependencies
(`uv lock`), then maybe `git init` (so the lock file is in the first commit).

Cookiecutter runs this with the new project as the working directory. Each step is a small
function of the answers so tests can import and call it on a temporary tree. Whole optional
files live in the template unconditionally and are removed here (cookiecutter-django's way),
rather than being wrapped in one big Jinja if-block.
"""

from __future__ import annotations

import json
import os
import re
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
        "tests/fixtures_database.py",
    ]


def postgresql_files(answers: Mapping[str, Any]) -> list[str]:
    """The PostgreSQL call deadlines, unless PostgreSQL is chosen."""
    if answers["database"] == "postgresql":
        return []
    return [f"src/{answers['package_name']}/deadlines.py", "tests/test_deadlines.py"]


def task_queue_files(answers: Mapping[str, Any]) -> list[str]:
    """The queue modules of the backends not chosen; with no queue, also the task code, the
    worker entry point, its unit and the tests."""
    package = f"src/{answers['package_name']}"
    backends = ("celery", "rq")
    unused = [f"{package}/queue_{backend}.py" for backend in backends if backend != answers["task_queue"]]
    if answers["task_queue"] != "none":
        return unused
    return [
        *unused,
        f"{package}/tasks.py",
        f"{package}/exports.py",
        f"{package}/worker.py",
        f"deploy/systemd/{answers['project_slug']}-worker.service",
        "tests/test_tasks.py",
        "tests/fixtures_task_queue.py",
    ]


OPTIONAL_MODULES = {"metrics": ("prometheus", "metrics"), "tracing": ("opentelemetry", "tracing"),
                    "error_tracking": ("sentry", "sentry"), "auth": ("oidc", "auth")}  # fmt: skip
"""Option -> (the value that keeps it, its module): src/<package>/<module>.py and
tests/test_<module>.py exist only with that value."""


def optional_module_files(answers: Mapping[str, Any]) -> list[str]:
    """The modules (and their tests) of the metrics, tracing, error tracking and auth not chosen;
    the test fixtures of tracing and auth, and without auth also the tests' local OIDC issuer."""
    return (
        [
            path
            for option, (kept, module) in OPTIONAL_MODULES.items()
            if answers[option] != kept
            for path in (f"src/{answers['package_name']}/{module}.py", f"tests/test_{module}.py")
        ]
        + (["tests/fixtures_tracing.py"] if answers["tracing"] != "opentelemetry" else [])
        + (["tests/oidc.py", "tests/fixtures_auth.py"] if answers["auth"] != "oidc" else [])
    )


def as_bool(value: Any) -> bool:
    """A yes/no answer: a bool, or one of Cookiecutter's own yes words (flaskgen uses the same)."""
    if isinstance(value, bool):
        return value
    from cookiecutter.prompt import YesNoPrompt

    return str(value).strip().lower() in YesNoPrompt.yes_choices


def docker_files(answers: Mapping[str, Any]) -> list[str]:
    """Dockerfile, compose file and .dockerignore, unless docker is chosen."""
    if as_bool(answers["docker"]):
        return []
    return ["Dockerfile", "compose.yaml", ".dockerignore"]


def kubernetes_files(answers: Mapping[str, Any]) -> list[str]:
    """The task worker's Deployment without a task queue, the migration Job without PostgreSQL, and
    deploy/kubernetes itself unless Kubernetes is chosen: each path decided by one answer (what
    `flaskgen backstage` needs to turn this list into steps)."""
    return [
        *(["deploy/kubernetes/worker.yaml"] if answers["task_queue"] == "none" else []),
        *(["deploy/kubernetes/migrate"] if answers["database"] != "postgresql" else []),
        *([] if as_bool(answers.get("kubernetes", False)) else ["deploy/kubernetes"]),
    ]


def ci_files(answers: Mapping[str, Any]) -> list[str]:
    """The CI configurations (and dependency bots: Dependabot on GitHub, Renovate on GitLab) of
    the providers not chosen."""
    by_provider = {"github": [".github"], "gitlab": [".gitlab-ci.yml", "renovate.json"]}
    return [path for name, paths in by_provider.items() if name != answers["ci"] for path in paths]


def remove_bytecode(root: Path) -> list[str]:
    """Drop __pycache__ directories: pip byte-compiles an installed template's .py files, and
    Cookiecutter would otherwise copy those stale .pyc files into the project."""
    caches = sorted(p for p in root.rglob("__pycache__") if p.is_dir())
    for cache in caches:
        shutil.rmtree(cache)
    return [str(cache.relative_to(root)) for cache in caches]


def files_to_prune(answers: Mapping[str, Any]) -> list[str]:
    """Every path the answers leave out of the project."""
    return [
        *database_files(answers),
        *postgresql_files(answers),
        *task_queue_files(answers),
        *optional_module_files(answers),
        *docker_files(answers),
        *kubernetes_files(answers),
        *ci_files(answers),
    ]


ANSWERS_FILE = ".cruft.json"
"""cruft's file name, so `cruft check/update` work too; flaskgen reads this constant from here."""


GIT_TIMEOUT = 60
"""Seconds any one git command of this hook may take (flaskgen.git uses the same bound)."""


def _git_output(directory: str, *args: str) -> str | None:
    """`git -C directory args...` stripped stdout, or None on any failure (no git, a timeout,
    not a repository)."""
    if not directory or not git_available():
        return None
    try:
        result = subprocess.run(["git", "-C", directory, *args], capture_output=True, text=True, timeout=GIT_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def repository_origin(directory: str) -> dict[str, Any] | None:
    """The git repository holding a template directory: its origin URL (else its top-level
    path), HEAD commit, and the template's directory inside it (None at the root). None outside
    git. The one place this is decided: flaskgen calls it too, for `flaskgen new`."""
    top = _git_output(directory, "rev-parse", "--show-toplevel")
    if top is None:
        return None
    relative = Path(directory).resolve().relative_to(Path(top).resolve()).as_posix()
    return {
        "template": _git_output(top, "remote", "get-url", "origin") or top,
        "commit": _git_output(top, "rev-parse", "HEAD"),
        "directory": None if relative == "." else relative,
    }


def template_origin(answers: Mapping[str, Any]) -> dict[str, Any]:
    """Where the template came from. flaskgen passes it in `_answers_*`; under plain
    Cookiecutter it is read from the git repository that holds the template (`_repo_dir`)."""
    if answers.get("_answers_source"):
        return {
            "template": answers["_answers_source"],
            "commit": answers.get("_answers_commit") or None,
            "checkout": answers.get("_answers_checkout") or None,
            "directory": answers.get("_answers_directory") or None,
        }
    origin = repository_origin(str(answers.get("_repo_dir") or answers.get("_template") or ""))
    if origin is None:
        return {
            "template": answers.get("_template"),
            "commit": None,
            "checkout": answers.get("_checkout"),
            "directory": None,
        }
    return {**origin, "checkout": answers.get("_checkout")}


def answers_record(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers file, in cruft's .cruft.json format so `cruft check/update` work too.
    Only the public answers are kept (plus cruft's _template and _commit); no secrets are asked."""
    origin = template_origin(answers)
    context = {key: value for key, value in answers.items() if not key.startswith("_")}
    context["_template"] = origin["template"]
    context["_commit"] = origin["commit"]
    return {
        "template": origin["template"],
        "commit": origin["commit"],
        "checkout": origin["checkout"],
        "context": {"cookiecutter": context},
        "directory": origin["directory"],
    }


def write_answers_file(root: Path, answers: Mapping[str, Any]) -> Path:
    path = root / ANSWERS_FILE
    path.write_text(json.dumps(answers_record(answers), indent=2) + "\n", encoding="utf-8")
    return path


CATALOG_FILE = "catalog-info.yaml"
RELEASE_TAGS = "v[0-9]*.[0-9]*.[0-9]*"
"""The template's releases (flaskgen.releases reads the same tags)."""


def template_version(origin: Mapping[str, Any], answers: Mapping[str, Any]) -> str:
    """The release the template commit is, in git's own words (`git describe` in the template's
    repository): "v1.2.0" on a release, "v1.2.0-3-g<commit>" after one, the commit without any
    release or outside that repository, "unknown" when the template was in no git repository.
    The repository is the one template_origin read (cruft passes no _repo_dir, only _template), so
    every front door that sees the template's tags words the same commit the same way."""
    if answers.get("_answers_version"):  # worded by flaskgen's build, where git was at hand
        return str(answers["_answers_version"])
    commit = origin["commit"]
    if not commit:
        return "unknown"
    repository = str(answers.get("_repo_dir") or answers.get("_template") or "")
    described = _git_output(repository, "describe", "--tags", "--match", RELEASE_TAGS, "--abbrev=12", commit)
    return described or commit


def write_catalog_annotations(root: Path, answers: Mapping[str, Any]) -> None:
    """Fill catalog-info.yaml's flaskgen/template and flaskgen/template-version annotations with
    the template source and release recorded in the answers file (JSON strings are YAML)."""
    path = root / CATALOG_FILE
    if not path.is_file():
        return
    origin = template_origin(answers)
    values = {
        "flaskgen/template": origin["template"] or "",
        "flaskgen/template-version": template_version(origin, answers),
    }
    text = path.read_text(encoding="utf-8")
    for key, value in values.items():
        line = f": {json.dumps(value)}"
        text = re.sub(
            rf"^(\s+{re.escape(key)}): .*$", lambda match, line=line: match[1] + line, text, count=1, flags=re.M
        )
    path.write_text(text, encoding="utf-8")


LOCK_TIMEOUT = 180
"""Seconds `uv lock` may take (a cold cache resolves ~30 packages over the network)."""


def find_uv() -> str | None:
    """uv on PATH, else the one installed beside the running interpreter (flaskgen's own venv or
    `uv tool` environment, whose bin directory is often not on PATH)."""
    beside = Path(sys.executable).parent / "uv"
    return shutil.which("uv") or (str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None)


def required_python(root: Path) -> tuple[int, int] | None:
    """The project's `requires-python = ">=X.Y"` as (X, Y); None when it says something else."""
    match = re.search(r'^requires-python\s*=\s*">=\s*(\d+)\.(\d+)', (root / "pyproject.toml").read_text(), re.M)
    return (int(match[1]), int(match[2])) if match else None


def lock_interpreter(uv: str, minimum: tuple[int, int] | None) -> str | None:
    """A Python on this machine for `uv lock` (it needs one that satisfies requires-python): the
    running one when it does, else the one uv finds, never downloading one. None when there is none."""
    if minimum is None or sys.version_info[:2] >= minimum:
        return sys.executable
    request = f">={minimum[0]}.{minimum[1]}"
    try:
        found = subprocess.run([uv, "python", "find", "--no-python-downloads", request],
                               capture_output=True, text=True, timeout=LOCK_TIMEOUT)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    path = found.stdout.strip() if found.returncode == 0 else ""
    return path or None


def lock_dependencies(root: Path) -> str | None:
    """`uv lock` in the new project, so that every install (Makefile, CI, Docker) is `uv sync
    --locked` from the first commit on. Never fails the generation, and never downloads a Python:
    without uv, offline, or with no interpreter for requires-python here, it returns the one-line
    reason and the fix (the Makefile's `install` makes the lock later); None when uv.lock was made."""
    uv = find_uv()
    if uv is None:
        return "uv not found, so no uv.lock yet: install uv (https://docs.astral.sh/uv/) and run `make lock`"
    minimum = required_python(root)
    python = lock_interpreter(uv, minimum)
    if python is None:
        assert minimum is not None  # the running interpreter serves when requires-python is unknown
        wanted = f"{minimum[0]}.{minimum[1]}"
        return (
            f"no Python {wanted} or newer on this machine (none is downloaded), so no uv.lock yet: "
            f"`uv python install {wanted}`, then `make lock PYTHON={wanted}` (PYTHON={wanted} for every target)"
        )
    command = [uv, "lock", "--quiet", "--no-python-downloads", "--python", python]
    try:
        result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=LOCK_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as err:
        reason = f"timed out after {LOCK_TIMEOUT} s" if isinstance(err, subprocess.TimeoutExpired) else str(err)
        return f"uv lock did not finish ({reason}), so no uv.lock yet: run `make lock` once the index is reachable"
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        reason = next((line for line in lines if line.startswith("error:")), lines[-1] if lines else "no output")
        return f"uv lock failed ({reason}), so no uv.lock yet: run `make lock` once that is fixed"
    return None


def git_available() -> bool:
    return shutil.which("git") is not None


def git_init(root: Path, answers: Mapping[str, Any]) -> bool:
    """`git init` and a first commit. The author comes from git's own config when it has one,
    else from the answers, so this works on a fresh CI machine. Returns False without git, and
    in a repository already there (`cookiecutter -f` over a project: its history is the user's)."""
    if (root / ".git").exists():
        return False
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
    remove_bytecode(root)
    write_answers_file(root, answers)
    write_catalog_annotations(root, answers)
    if as_bool(answers.get("_uv_lock", False)):
        problem = lock_dependencies(root)
        if problem is not None:
            print(f"note: {problem}", file=sys.stderr)
    # Only in a render through Cookiecutter's own entry point (it sets _output_dir; flaskgen too):
    # cruft renders without it, and its update and diff render into temporary directories whose
    # `git diff --no-index` must not meet a .git (cruft drops private answers, so _git_init is the
    # template's default there).
    if as_bool(answers.get("_git_init", False)) and "_output_dir" in answers:
        git_init(root, answers)
    return 0


if __name__ == "__main__":
    sys.exit(main(json.loads(r"""{{ cookiecutter | jsonify }}""")))

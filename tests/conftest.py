"""Shared fixtures and options for flaskgen's test suite.

- Test tiers (README, "Development"): `make test` is the fast tier, `-m "not slow" --variants=default`
  (unit, CLI, hooks, audit, and the default variant baked and tested); `make test-full` (CI) is
  everything with `--variants=full`. Tests marked `slow` (live stacks, upgrades, packaging, real
  release repositories, the fleet, benchmarks) are left out of the fast tier only.
- `--variants=default|pairwise|full` picks the variant matrix tier (tests/test_variants.py);
  `--variant "database=postgresql task_queue=celery"` runs that one variant instead (defaults for
  the options it leaves out), as the matrix runs each of its variants (`make test-variant SET=...`).
- `--shard=K/N` runs the K-th of N slices of the variants (balanced by tests/variant_costs.json,
  written by `--record-costs`); the N slices together run every variant once, and the tests
  that take no variant run in slice 1 only.
- Services (PostgreSQL, Redis), interpreters and Nginx are real. When one is missing, a test
  skips with the reason printed, except under CI (CI=true) where the same absence fails.
- At the end, a table lists each variant test (bake, or upgrade with its conflict count) with
  its time and result.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest

from tests.helpers import find_python
from tests.variants import COSTS_FILE, OPTIONS, one_variant, parse_shard, partition, recorded_costs, variant_id


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--variants",
        choices=("default", "pairwise", "full"),
        default="pairwise",
        help="variant matrix tier: the default variant only, pairwise (default) or the full behavioural product",
    )
    parser.addoption(
        "--variant",
        default=None,
        metavar="KEY=VALUE ...",
        help='run the variant matrix for this one variant, e.g. "database=postgresql task_queue=celery"',
    )
    parser.addoption("--shard", default=None, help="run slice K of N of the variant matrix (K/N, e.g. 2/4)")
    parser.addoption(
        "--record-costs", action="store_true", help=f"write each variant's seconds to {COSTS_FILE.name} at the end"
    )


def pytest_configure(config: pytest.Config) -> None:
    expose_interpreters()
    try:
        if (shard := config.getoption("--shard")) is not None:
            parse_shard(shard)
        if (spec := config.getoption("--variant")) is not None:
            one_variant(spec)
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None


def expose_interpreters() -> None:
    """Put the interpreters of every python_version on PATH as pythonX.Y, and forbid uv's Python
    downloads. A generated project's `uv lock` (post-gen hook) and `uv sync` look for an
    interpreter that satisfies requires-python on PATH; pyenv's shims answer only for the global
    version, so without this uv would try to download one (no internet here: a slow failure)."""
    directory = Path(tempfile.mkdtemp(prefix="flaskgen-pythons-"))
    for version in OPTIONS["python_version"]:
        found = find_python(version)
        if found is not None:
            (directory / f"python{version}").symlink_to(found)
    os.environ["PATH"] = f"{directory}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ["UV_PYTHON_DOWNLOADS"] = "never"


SLOW_MODULES = {
    "test_backstage",  # projects baked per preset and front door, Backstage's validators run by node
    "test_deploy",  # bakes a project per worker class and TLS value; live Nginx -> Gunicorn stacks
    "test_faults",  # attacks and faults through a live stack
    "test_fleet",  # nine repositories with bare remotes, the report in Chromium
    "test_frontdoors",  # cookiecutter, cruft and flaskgen on checkouts and git URLs, a release before the move
    "test_hosts",  # three app hosts in network namespaces behind a live Nginx, under load
    "test_locking",  # uv lock per project, make install with uv and with pip
    "test_package",  # a wheel installed in fresh venvs, its project's make test
    "test_releases",  # template repositories with tags, cruft, an installed wheel
    "test_template_update_jobs",  # the generated CI jobs' scripts against bare remotes
    "test_update",  # check, diff and update on projects in real git repositories
}
SLOW_TESTS = {
    "test_kubernetes_checks_find_the_problems",  # kubectl kustomize, kubernetes-validate and checkov runs
    "test_pre_commit_hook_runs_the_audit",  # pre-commit builds an environment with flaskgen in it
    "test_shard_option_splits_the_collected_matrix",  # collects the full matrix four times (CI's shards)
}
"""Test modules, and tests in modules of the fast tier, left out of the fast tier (`make test`);
a slow test may also carry the `slow` marker itself, and every `live` test (real Gunicorn/Nginx
processes) is slow too."""


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the slow tests (SLOW_MODULES, `live`); --shard=K/N: keep the variant tests of slice K
    (and, in slice 1, every test without a variant)."""
    for item in items:
        module = getattr(item, "module", None)
        in_slow_module = module is not None and module.__name__.split(".")[-1] in SLOW_MODULES
        if item.get_closest_marker("live") or in_slow_module or getattr(item, "originalname", "") in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
    shard = config.getoption("--shard")
    if shard is None:
        return
    k, n = parse_shard(shard)

    def variant_of(item: pytest.Item) -> str | None:
        params = getattr(getattr(item, "callspec", None), "params", {})
        return variant_id(params["variant"]) if "variant" in params else None

    slices = partition([v for item in items if (v := variant_of(item)) is not None], n, recorded_costs())
    keep, drop = [], []
    for item in items:
        variant = variant_of(item)
        (keep if (slices[variant] if variant is not None else 1) == k else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One row per variant test: id, kind, seconds, result (collected from every xdist worker)."""
    rows = []
    step_times: list[dict[str, float]] = []
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            props = dict(getattr(report, "user_properties", []))
            if "variant_seconds" in props and getattr(report, "when", "call") in ("call", "setup"):
                step_times.append(props.get("steps", {}))
                kind = props.get("kind", "bake")
                if "conflicts" in props:
                    kind += f" ({props['conflicts']} conflicts)"
                rows.append((props["variant"], kind, props["variant_seconds"], outcome))
    if not rows:
        return
    if terminalreporter.config.getoption("--record-costs"):
        costs: dict[str, float] = defaultdict(float)
        for variant, _kind, seconds, _outcome in rows:
            costs[variant] += seconds
        COSTS_FILE.write_text(json.dumps({v: round(s, 1) for v, s in sorted(costs.items())}, indent=2) + "\n")
        terminalreporter.write_line(f"variant costs written to {COSTS_FILE}")
    terminalreporter.write_sep("=", f"variant matrix: {len(rows)} tests")
    width = max(len(row[0]) for row in rows)
    kinds = max(len(row[1]) for row in rows)
    for variant, kind, seconds, outcome in sorted(rows):
        terminalreporter.write_line(f"{variant:<{width}}  {kind:<{kinds}}  {seconds:7.1f}s  {outcome}")
    per_step: dict[str, list[float]] = defaultdict(list)
    for steps in step_times:
        for name, seconds in steps.items():
            per_step[name].append(seconds)
    if per_step:
        terminalreporter.write_line("cost per step (median per variant test / total):")
        for name, times in sorted(per_step.items(), key=lambda item: -sum(item[1])):
            times.sort()
            terminalreporter.write_line(
                f"  {name:<20} {times[len(times) // 2]:6.1f} s  {sum(times):8.1f} s  ({len(times)} tests)"
            )
    for name in sorted({row[1].split()[0] for row in rows}):
        times = sorted(row[2] for row in rows if row[1].split()[0] == name)
        median = times[len(times) // 2]
        terminalreporter.write_line(
            f"{name}: {len(times)} tests, {min(times):.1f} / {median:.1f} / {max(times):.1f} s (min / median / max),"
            f" {sum(times):.1f} s in all"
        )

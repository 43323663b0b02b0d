"""Shared fixtures and options for flaskgen's test suite.

- `--variants=pairwise|full` picks the variant matrix tier (tests/test_variants.py).
- Services (PostgreSQL, Redis), interpreters and Nginx are real. When one is missing, a test
  skips with the reason printed, except under CI (CI=true) where the same absence fails.
- At the end, a table lists each variant test (bake, or upgrade with its conflict count) with
  its time and result.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--variants",
        choices=("pairwise", "full"),
        default="pairwise",
        help="variant matrix tier: pairwise (default) or the full behavioural product",
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One row per variant test: id, kind, seconds, result (collected from every xdist worker)."""
    rows = []
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            props = dict(getattr(report, "user_properties", []))
            if "variant_seconds" in props and getattr(report, "when", "call") in ("call", "setup"):
                kind = props.get("kind", "bake")
                if "conflicts" in props:
                    kind += f" ({props['conflicts']} conflicts)"
                rows.append((props["variant"], kind, props["variant_seconds"], outcome))
    if not rows:
        return
    terminalreporter.write_sep("=", f"variant matrix: {len(rows)} tests")
    width = max(len(row[0]) for row in rows)
    kinds = max(len(row[1]) for row in rows)
    for variant, kind, seconds, outcome in sorted(rows):
        terminalreporter.write_line(f"{variant:<{width}}  {kind:<{kinds}}  {seconds:7.1f}s  {outcome}")
    for name in sorted({row[1].split()[0] for row in rows}):
        times = sorted(row[2] for row in rows if row[1].split()[0] == name)
        median = times[len(times) // 2]
        terminalreporter.write_line(
            f"{name}: {len(times)} tests, {min(times):.1f} / {median:.1f} / {max(times):.1f} s (min / median / max),"
            f" {sum(times):.1f} s in all"
        )

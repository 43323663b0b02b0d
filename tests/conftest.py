"""Shared fixtures and options for flaskgen's test suite.

- `--variants=pairwise|full` picks the variant matrix tier (tests/test_variants.py).
- Services (PostgreSQL, Redis), interpreters and Nginx are real. When one is missing, a test
  skips with the reason printed, except under CI (CI=true) where the same absence fails.
- At the end, a table lists each baked variant with its time and result.
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
    """One row per baked variant: id, seconds, result (collected from every xdist worker)."""
    rows = []
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            props = dict(getattr(report, "user_properties", []))
            if "variant_seconds" in props and getattr(report, "when", "call") in ("call", "setup"):
                rows.append((props["variant"], props["variant_seconds"], outcome))
    if not rows:
        return
    terminalreporter.write_sep("=", f"variant matrix: {len(rows)} variants")
    width = max(len(row[0]) for row in rows)
    for variant, seconds, outcome in sorted(rows):
        terminalreporter.write_line(f"{variant:<{width}}  {seconds:7.1f}s  {outcome}")
    total = sum(row[1] for row in rows)
    terminalreporter.write_line(f"{'total (sum of variant times)':<{width}}  {total:7.1f}s")

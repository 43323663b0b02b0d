"""The update decided from file contents alone (flaskgen.project.plan): per file, then a whole plan.
Pure tests, in the fast tier; tests/test_update.py runs update against real git repositories."""

from __future__ import annotations

import pytest

from flaskgen.project import decide, plan_update


@pytest.mark.parametrize(
    ("base", "theirs", "ours", "action"),
    [
        (b"a", b"a", b"a", None),  # unchanged everywhere
        (b"a", b"a", b"mine", None),  # only the user changed it
        (b"a", b"new", b"new", None),  # the project already has the new version
        (b"a", b"new", b"a", "updated"),  # only the template changed it
        (b"a", b"new", b"mine", "merged"),  # both changed it
        (None, b"new", None, "added"),  # a new template file
        (None, b"new", b"mine", "merged"),  # a new template file the user also wrote
        (b"a", b"new", None, "skipped"),  # the user deleted it; the template changed it
        (b"a", None, b"a", "removed"),  # the template dropped it; the user never changed it
        (b"a", None, b"mine", "kept"),  # the template dropped it; the user changed it
        (b"a", None, None, None),  # dropped by both
    ],
)
def test_update_decides_each_file(base: bytes | None, theirs: bytes | None, ours: bytes | None, action: str) -> None:
    assert decide(base, theirs, ours) == action


def test_update_plan_is_decided_from_contents_alone() -> None:
    """plan_update: contents in, actions and the project's files after out (what --dry-run prints)."""
    base = {"same": b"a\n", "template-only": b"a\n", "both": b"a\nb\nc\n", "clash": b"a\n", "gone": b"a\n",
            "skip-me": b"a\n"}  # fmt: skip
    theirs = {"same": b"a\n", "template-only": b"new\n", "both": b"A\nb\nc\n", "clash": b"theirs\n",
              "skip-me": b"new\n", "fresh": b"new\n"}  # fmt: skip
    ours = {**base, "both": b"a\nb\nC\n", "clash": b"mine\n", "mine": b"user file\n"}
    plan = plan_update(base, theirs, ours, before=ours, protected={"skip-me"})
    assert plan.actions == {"template-only": "updated", "both": "merged", "clash": "conflicts", "gone": "removed",
                            "skip-me": "ignored", "fresh": "added"}  # fmt: skip
    assert plan.after["both"] == b"A\nb\nC\n"
    assert b"<<<<<<<" in plan.after["clash"]
    assert "gone" not in plan.after and plan.after["mine"] == b"user file\n" and plan.after["skip-me"] == b"a\n"
    assert plan.changes == ["both", "clash", "fresh", "gone", "template-only"]
    assert plan.paths("merged") == ["both"]
    assert "+++ b/fresh" in plan.diff() and "--- a/gone" in plan.diff()

"""Every git command flaskgen runs, with one timeout and one error policy.

- `probe(...)` asks a question whose "no" is an answer (not a repository, no origin): it returns
  None on any failure, including git missing or timing out.
- `run(...)` does something flaskgen needs: a failure raises GitError naming the command and
  git's own message.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from flaskgen.errors import GitError

__all__ = ["TIMEOUT", "available", "changed_files", "is_dirty", "ls_files", "merge_file", "name_files", "probe", "run"]

TIMEOUT = 60
"""Seconds any one git command may take (a clone or fetch goes through Cookiecutter instead)."""


def available() -> bool:
    return shutil.which("git") is not None


def _run(*args: str) -> subprocess.CompletedProcess[bytes]:
    """`git args...` under the timeout; GitError when git is missing or too slow."""
    try:
        return subprocess.run(["git", *args], capture_output=True, timeout=TIMEOUT)
    except FileNotFoundError as err:
        raise GitError("git is not installed; install git (Debian: apt-get install git)") from err
    except subprocess.TimeoutExpired as err:
        raise GitError(f"`git {args[0]}` took over {TIMEOUT} s; check the repository and retry") from err


def run(*args: str) -> bytes:
    """Run `git args...`; its stdout, or GitError with git's message."""
    result = _run(*args)
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"`git {args[0]}` failed: {message[-1] if message else result.returncode}")
    return result.stdout


def probe(directory: str | Path, *args: str) -> str | None:
    """`git -C directory args...` stripped stdout, or None when it fails for any reason."""
    if not directory:
        return None
    try:
        return run("-C", str(directory), *args).decode().strip()
    except GitError:
        return None


def ls_files(root: Path) -> list[Path] | None:
    """git's view of a work tree (tracked and untracked, not ignored); None outside a repository."""
    if not (root / ".git").exists():
        return None
    try:
        listed = run("-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    except GitError:
        return None
    return [Path(name) for name in listed.decode().split("\0") if name]


def is_dirty(root: Path) -> bool:
    """True when root is a repository with uncommitted changes."""
    return bool(changed_files(root))


def changed_files(root: Path) -> list[str]:
    """The paths `git status` lists in root (changed, staged, untracked; not ignored); empty
    outside a repository."""
    if not (root / ".git").exists():
        return []
    try:
        listed = run("-C", str(root), "status", "--porcelain", "-z").decode(errors="replace")
    except GitError:
        return []
    entries, paths = iter(listed.split("\0")), []
    for entry in entries:
        if entry:
            paths.append(entry[3:])
            if entry[0] in "RC":
                next(entries, None)  # a rename's or copy's source path follows
    return paths


def name_files(paths: list[str], most: int = 5) -> str:
    """A few paths for a one-line message: "a, b, c and 4 more"."""
    shown = ", ".join(paths[:most])
    return f"{shown} and {len(paths) - most} more" if len(paths) > most else shown


def merge_file(ours: Path, base: Path, theirs: Path, labels: tuple[str, str, str]) -> tuple[bytes, bool]:
    """`git merge-file -p` of three files: (merged content, had conflicts). Its exit status is the
    number of conflicts, so only a negative or >127 status is a failure."""
    marked = ("-L", labels[0], "-L", labels[1], "-L", labels[2])
    result = _run("merge-file", "-p", *marked, str(ours), str(base), str(theirs))
    if result.returncode < 0 or result.returncode > 127:
        raise GitError(f"git merge-file failed: {result.stderr.decode(errors='replace').strip()}; is git installed?")
    return result.stdout, result.returncode > 0

"""Hatch build hook: record in the package where its bundled template comes from.

An installed flaskgen must know the repository and commit of the template it ships, so that
`flaskgen new` (no `--template`) records a source that `check` and `update` can reach. At build
time that is the git checkout being built: its `origin` URL (else the project's Source URL in
pyproject.toml) and HEAD. The file is `flaskgen/_origin.json`, in the wheel and in the sdist, so
a wheel built from an sdist (no git there) keeps what the sdist recorded. A build outside any git
checkout records the version only, and says so.

Written as a hook of our own because no hatch plugin records the origin *URL* (hatch-vcs and
setuptools-scm derive a version from tags; the commit alone cannot be fetched).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

ORIGIN_FILE = "flaskgen/_origin.json"


def _git(root: Path, *args: str) -> str | None:
    # Not flaskgen.git.probe: the build environment has hatchling only, and importing the
    # flaskgen package pulls in cookiecutter.
    try:
        result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def git_origin(root: Path, project_url: str | None) -> dict[str, Any] | None:
    """Source and commit of the checkout at root; None when root is not the top of a git checkout
    (an unpacked sdist inside some other repository must not borrow that repository's origin)."""
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != root.resolve():
        return None
    return {
        "template": _git(root, "remote", "get-url", "origin") or project_url,
        "commit": _git(root, "rev-parse", "HEAD"),
        "dirty": bool(_git(root, "status", "--porcelain", "--", "template", "hooks", "cookiecutter.json")),
        # The commit in git's words (the post-gen hook's template_version): an installed wheel has
        # no git to describe it, and `update` compares against a render that had.
        "release": _git(root, "describe", "--tags", "--match", "v[0-9]*.[0-9]*.[0-9]*", "--abbrev=12", "HEAD"),
    }


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Adds flaskgen/_origin.json to the wheel and the sdist."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return  # an editable install reads the checkout's template and git directly
        root = Path(self.root)
        urls = self.metadata.core.urls
        origin = git_origin(root, urls.get("Source"))
        if origin is None and (root / ORIGIN_FILE).is_file():
            return  # building from an sdist: the file it carries is the record
        if origin is None:
            origin = {"template": None, "commit": None, "note": "built outside a git checkout: no template source"}
        origin.update(version=self.metadata.version, directory="template")
        self._scratch = Path(tempfile.mkdtemp(prefix="flaskgen-build-"))
        path = self._scratch / "_origin.json"
        path.write_text(json.dumps(origin, indent=2) + "\n", encoding="utf-8")
        build_data["force_include"][str(path)] = ORIGIN_FILE

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)

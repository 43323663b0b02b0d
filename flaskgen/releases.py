"""Template releases: `vX.Y.Z` tags on the template repository, and their CHANGELOG.md sections.

A repository without such tags has no releases; `check` and `update` then speak in commits.
Versions are plain `MAJOR.MINOR.PATCH` (no pre-releases): a release is what an organisation
moves its services to, so only final versions count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from flaskgen import git

__all__ = ["Release", "changelog_sections", "list_releases", "newest_in", "parse_version"]

TAG_PATTERN = "v[0-9]*"
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")
# Keep a Changelog: "## [1.2.0] - 2026-11-24", "## [1.2.0]", "## 1.2.0".
_SECTION = re.compile(r"^## \[?v?(\d+\.\d+\.\d+)\]?[^\n]*$", re.MULTILINE)


def parse_version(text: str) -> tuple[int, int, int] | None:
    """(1, 2, 0) for "v1.2.0" or "1.2.0"; None for anything else."""
    match = _VERSION.fullmatch(text.strip())
    if match is None:
        return None
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


@dataclass(frozen=True, order=True)
class Release:
    version: tuple[int, int, int]
    tag: str
    commit: str

    @property
    def name(self) -> str:
        """ "1.2.0" (the tag without its v)."""
        return ".".join(map(str, self.version))


def list_releases(repository: Path, *, merged_into: str | None = None) -> list[Release]:
    """Every `vX.Y.Z` tag of the repository, oldest first; with merged_into, only the releases
    that commit contains (its history includes the tag)."""
    args = ["for-each-ref", "--format=%(refname:short) %(objectname) %(*objectname)"]
    if merged_into is not None:
        args.append(f"--merged={merged_into}")
    listed = git.probe(repository, *args, f"refs/tags/{TAG_PATTERN}")
    releases = []
    for line in (listed or "").splitlines():
        tag, obj, *peeled = line.split()
        version = parse_version(tag)
        if version is not None and tag.startswith("v"):
            releases.append(Release(version, tag, peeled[0] if peeled else obj))  # annotated tags peel to a commit
    return sorted(releases)


def newest_in(repository: Path, commit: str | None) -> Release | None:
    """The newest release a commit contains: the version a project made at that commit is on."""
    if not commit:
        return None
    contained = list_releases(repository, merged_into=commit)
    return contained[-1] if contained else None


def changelog_sections(text: str) -> dict[str, str]:
    """CHANGELOG.md's `## [X.Y.Z]` sections: {"1.2.0": "its text, heading excluded"}."""
    headings = list(_SECTION.finditer(text))
    sections = {}
    for index, heading in enumerate(headings):
        end = headings[index + 1].start() if index + 1 < len(headings) else len(text)
        body = text[heading.end() : end]
        following = re.search(r"^## ", body, flags=re.MULTILINE)  # e.g. "## [Unreleased]" ends it too
        body = body[: following.start()] if following else body
        # Link reference definitions ("[1.2.0]: https://...") close the file; they are not text.
        sections[heading.group(1)] = re.sub(r"^\[[^\]]+\]:\s.*$", "", body, flags=re.MULTILINE).strip()
    return sections

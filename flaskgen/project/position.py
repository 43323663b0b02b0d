"""Where a project stands against its template: the recorded commit against a target commit,
and with releases (`vX.Y.Z` tags, flaskgen.releases) the versions, releases behind and the
CHANGELOG.md sections in between. Without tags, commits of the followed branch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flaskgen.errors import ProjectError, TemplateError
from flaskgen.project.record import Recorded, answers_file
from flaskgen.releases import Release, changelog_sections, list_releases, newest_in, parse_version
from flaskgen.template import Template, open_template, repository_root, template_at

__all__ = ["Target", "at", "locate", "reach"]


@dataclass(frozen=True)
class Target:
    """Where a project stands and where it would move: the recorded commit against a target
    commit, and, when the template has releases, the versions, releases behind and changelog."""

    template: str
    current_commit: str | None
    latest_commit: str | None
    current: Release | None = None
    latest: Release | None = None
    releases_behind: int | None = None
    """None when the template repository has no releases (commits only)."""
    changelog: list[dict[str, str]] = field(default_factory=list)
    """The CHANGELOG.md sections of the releases crossed, newest first: [{version, text}]."""

    @property
    def up_to_date(self) -> bool:
        if self.releases_behind is not None and self.releases_behind == 0 and self.current is not None:
            return True  # on the newest release (perhaps ahead of it, at a later commit)
        return self.current_commit is not None and self.current_commit == self.latest_commit

    @property
    def current_version(self) -> str | None:
        return self.current.name if self.current else None

    @property
    def latest_version(self) -> str | None:
        return self.latest.name if self.latest else None

    def to_json(self) -> dict[str, Any]:
        return {
            "up_to_date": self.up_to_date,
            "template": self.template,
            "current_commit": self.current_commit,
            "latest_commit": self.latest_commit,
            "current_version": self.current_version,
            "latest_version": self.latest_version,
            "releases_behind": self.releases_behind,
            "changelog": self.changelog,
        }


@contextmanager
def reach(recorded: Recorded, template: str | None, checkout: str | None) -> Iterator[Template]:
    """The template at the head of the followed branch (checkout, else the recorded one).
    An unreachable recorded source is one line naming it and the --template way out."""
    source = template or recorded.template
    with ExitStack() as stack:
        try:
            head = stack.enter_context(open_template(source, checkout or recorded.checkout))
        except TemplateError as err:
            if template is not None:
                raise
            raise TemplateError(
                f"cannot reach the template {source} recorded in {answers_file()}; "
                "pass --template with a reachable URL or clone of it"
            ) from err
        yield head


def locate(head: Template, current_commit: str | None, to: str | None = None) -> Target:
    """Where a project at current_commit stands against the template head (see Target).

    to: None for the newest release (the head's commit when there are none), "HEAD" for the
    head's commit, or a release ("v1.2.0" or "1.2.0")."""
    repository = repository_root(head)
    releases = list_releases(repository) if repository else []
    if not releases:
        if to is not None and to.upper() != "HEAD":
            raise ProjectError(
                f"template {head.source} has no releases (vX.Y.Z tags); leave out --to, or use --to HEAD"
            )
        return Target(head.source, current_commit, head.commit)
    assert repository is not None
    current = newest_in(repository, current_commit)
    latest: Release | None
    latest_commit: str | None
    if to is None:
        latest = releases[-1]
        latest_commit = latest.commit
    elif to.upper() == "HEAD":
        latest = newest_in(repository, head.commit)
        latest_commit = head.commit
    else:
        wanted = parse_version(to)
        found = [release for release in releases if release.version == wanted]
        if not found:
            names = ", ".join(release.tag for release in releases[-5:])
            raise ProjectError(f"template {head.source} has no release {to!r}; choose one of: {names}, or HEAD")
        latest, latest_commit = found[0], found[0].commit
    crossed = [
        release
        for release in releases
        if (current is None or release.version > current.version) and latest and release.version <= latest.version
    ]
    sections = changelog_sections(_read_text(repository / "CHANGELOG.md"))
    return Target(
        template=head.source,
        current_commit=current_commit,
        latest_commit=latest_commit,
        current=current,
        latest=latest,
        releases_behind=len(crossed),
        changelog=[{"version": r.name, "text": sections.get(r.name, "")} for r in reversed(crossed)],
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


@contextmanager
def at(head: Template, commit: str | None) -> Iterator[Template]:
    """The template at commit: the head itself when that is its commit (a local work tree is
    then used as it is), else a shared local clone at that commit."""
    if commit is None or commit == head.commit:
        yield head
    else:
        with template_at(head, commit) as tpl:
            yield tpl

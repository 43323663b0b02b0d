"""`flaskgen fleet`: where every service of an organisation stands, and update branches for all.

A manifest lists repositories, one a line: a git URL or a local path, optionally a branch after
a space; blank lines and `#` comments are ignored (a `.toml` manifest is `repos = ["url [branch]",
...]`). `status` reads each (a shallow clone into the cache directory, or a local work tree in
place) and reports template, version, releases behind, drift from the pristine render, audit
findings by code, violations of a preset's locked answers, or the error that stopped it — per
repository, without stopping the run. `update` makes a branch per repository that is behind,
with the update committed (conflicts committed with their markers and listed), and pushes it
with `push`; it never writes a default branch.

Work is spread over processes (`jobs`): rendering and auditing are Python work, so threads
would share one core. Each distinct template source is cloned once per run, in the parent, and
the workers read that clone.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from flaskgen import git
from flaskgen.errors import FlaskgenError, ManifestError
from flaskgen.presets import Preset

if TYPE_CHECKING:
    from flaskgen.project import Recorded, UpdateResult

__all__ = [
    "ManifestEntry",
    "RepoStatus",
    "RepoUpdate",
    "read_manifest",
    "status",
    "summary",
    "update",
]

Status = Literal["current", "behind", "error"]


@dataclass(frozen=True)
class ManifestEntry:
    repo: str
    branch: str | None = None


def read_manifest(path: str | os.PathLike[str]) -> list[ManifestEntry]:
    """The repositories of a manifest file, in order; ManifestError names the line at fault."""
    manifest = Path(path)
    try:
        text = manifest.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ManifestError(f"cannot read manifest {manifest}: {err}; give a readable text or TOML file") from err
    if manifest.suffix == ".toml":
        try:
            repos = tomllib.loads(text).get("repos")
        except tomllib.TOMLDecodeError as err:
            raise ManifestError(f"manifest {manifest} is not valid TOML ({err}); fix the file") from err
        if not isinstance(repos, list) or not all(isinstance(repo, str) for repo in repos):
            raise ManifestError(f'manifest {manifest} needs repos = ["<url or path> [branch]", ...]')
        lines = [(index, repo) for index, repo in enumerate(repos, 1)]
    else:
        lines = list(enumerate(text.splitlines(), 1))
    entries = []
    for number, raw in lines:
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        parts = line.split()
        if len(parts) > 2:
            raise ManifestError(
                f"{manifest}:{number}: {line!r} has {len(parts)} fields; write a URL or path, then an optional branch"
            )
        entries.append(ManifestEntry(parts[0], parts[1] if len(parts) == 2 else None))
    if not entries:
        raise ManifestError(f"manifest {manifest} lists no repositories; add one URL or path per line")
    seen: set[ManifestEntry] = set()
    for entry in entries:
        if entry in seen:
            raise ManifestError(f"{manifest}: {entry.repo} is listed twice; keep one line per repository")
        seen.add(entry)
    return entries


@dataclass
class RepoStatus:
    """One repository's line of `fleet status` (to_json: exactly the documented keys)."""

    repo: str
    status: Status = "error"
    template: str | None = None
    current_version: str | None = None
    latest_version: str | None = None
    current_commit: str | None = None
    latest_commit: str | None = None
    releases_behind: int | None = None
    drift: list[str] = field(default_factory=list)
    audit: dict[str, int] = field(default_factory=dict)
    preset_violations: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def clean(self) -> bool:
        return self.status == "current" and not self.audit and not self.preset_violations

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def summary(repos: Sequence[RepoStatus]) -> dict[str, int]:
    """The totals a team lead reads first."""
    return {
        "repos": len(repos),
        "current": sum(r.status == "current" for r in repos),
        "behind": sum(r.status == "behind" for r in repos),
        "error": sum(r.status == "error" for r in repos),
        "drifted": sum(bool(r.drift) for r in repos),
        "preset_violations": sum(len(r.preset_violations) for r in repos),
        "audit_findings": sum(sum(r.audit.values()) for r in repos),
        "clean": sum(r.clean for r in repos),
    }


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "flaskgen" / "fleet"


def _local_work_tree(entry: ManifestEntry) -> Path | None:
    path = Path(entry.repo).expanduser()
    return path if (path / ".git").exists() else None


def _clone_source(repo: str) -> str:
    """file:// for local paths, so `--depth` applies (git ignores it for plain local paths)."""
    path = Path(repo).expanduser()
    return path.resolve().as_uri() if path.is_dir() else repo


def _clone(entry: ManifestEntry, destination: Path, *, depth: int | None = 1) -> Path:
    """A fresh clone of the entry (its branch, else its default branch) at destination."""
    shutil.rmtree(destination, ignore_errors=True)
    destination.parent.mkdir(parents=True, exist_ok=True)
    args = ["clone", "--quiet", "--no-tags"]
    if depth:
        args += ["--depth", str(depth)]
    if entry.branch:
        args += ["--branch", entry.branch]
    try:
        git.run(*args, _clone_source(entry.repo), str(destination))
    except FlaskgenError as err:
        shutil.rmtree(destination, ignore_errors=True)
        raise FlaskgenError(f"cannot clone {entry.repo}: {err}") from err
    return destination


def _slot(cache: Path, entry: ManifestEntry, kind: str) -> Path:
    digest = hashlib.sha1(f"{entry.repo}#{entry.branch or ''}".encode()).hexdigest()[:16]
    name = Path(entry.repo.rstrip("/")).name.removesuffix(".git") or "repo"
    return cache / kind / f"{name}-{digest}"


def _checkout(entry: ManifestEntry, cache: Path) -> Path:
    """Where to read the entry: a local work tree in place (unless a branch is asked for), else
    a shallow clone in the cache."""
    local = _local_work_tree(entry)
    if local is not None and entry.branch is None:
        return local
    return _clone(entry, _slot(cache, entry, "status"))


@dataclass(frozen=True)
class _Job:
    """What a worker process needs for one repository (plain data: it crosses processes)."""

    repo: str
    project: str
    template_dir: str
    preset: Preset | None
    target_cpus: int


def _inspect(job: _Job) -> RepoStatus:
    """One repository's status; every FlaskgenError becomes its `error`."""
    from flaskgen.answers import AnswersMap
    from flaskgen.audit import audit
    from flaskgen.project import drifted, locate, read_answers
    from flaskgen.template import open_template

    result = RepoStatus(repo=job.repo)
    try:
        recorded = read_answers(job.project)
        result.template = recorded.template
        with open_template(job.template_dir) as head:
            target = locate(head, recorded.commit)
            result.drift = drifted(recorded, head)
            locked = AnswersMap.layered(head.options, preset=job.preset).locked  # checked as `new` checks it
            result.preset_violations = _violations(locked, recorded.answers, head.options)
        result.status = "current" if target.up_to_date else "behind"
        result.current_commit, result.latest_commit = target.current_commit, target.latest_commit
        result.current_version, result.latest_version = target.current_version, target.latest_version
        result.releases_behind = target.releases_behind
        result.audit = dict(
            sorted(Counter(f.code for f in audit(recorded.project, target_cpus=job.target_cpus)).items())
        )
    except Exception as err:  # one broken repository must not stop the fleet run
        result.status, result.error = "error", _reason(err)
    return result


def _reason(err: Exception) -> str:
    """A repository's error line: a FlaskgenError says problem and fix; anything else is unexpected."""
    return str(err) if isinstance(err, FlaskgenError) else f"unexpected {type(err).__name__}: {err}"


def _violations(
    locked: Mapping[str, Any], answers: Mapping[str, Any], options: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The preset's locked answers that the project's recorded answers contradict."""
    found = []
    for key, expected in locked.items():
        actual = answers.get(key)
        option = options.get(key)
        try:
            same = option is not None and option.coerce(actual, origin="answers") == expected
        except FlaskgenError:
            same = False
        if not same:
            found.append({"key": key, "expected": expected, "actual": actual})
    return found


@contextmanager
def _templates(sources: set[tuple[str, str | None]]) -> Iterator[dict[tuple[str, str | None], str | Exception]]:
    """Each distinct (template source, checkout) opened once: its local directory, or the error."""
    from flaskgen.template import open_template

    opened: dict[tuple[str, str | None], str | Exception] = {}
    with ExitStack() as stack:
        for source, checkout in sorted(sources, key=str):
            try:
                opened[(source, checkout)] = str(stack.enter_context(open_template(source, checkout)).path)
            except FlaskgenError as err:
                opened[(source, checkout)] = err
        yield opened


Progress = Callable[[int, int], None]
JobT = TypeVar("JobT")
ResultT = TypeVar("ResultT")


def _run_parallel(
    func: Callable[[JobT], ResultT], jobs: Sequence[JobT], workers: int, progress: Progress | None
) -> list[ResultT]:
    """func over jobs in a process pool (spawned, so no locks are inherited), results in order."""
    if workers <= 1 or len(jobs) <= 1:
        results: list[ResultT] = []
        for index, job in enumerate(jobs, 1):
            results.append(func(job))
            if progress:
                progress(index, len(jobs))
        return results
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=get_context("spawn")) as pool:
        futures: list[Future[ResultT]] = [pool.submit(func, job) for job in jobs]
        for done, future in enumerate(futures, 1):
            future.result()
            if progress:
                progress(done, len(jobs))
        return [future.result() for future in futures]


def _read(entry: ManifestEntry, cache: Path) -> tuple[Path | None, Recorded | None, str | None]:
    """(checkout, its recorded answers, error) for one entry."""
    from flaskgen.project import read_answers

    try:
        where = _checkout(entry, cache)
        return where, read_answers(where), None
    except FlaskgenError as err:
        return None, None, str(err)


def status(
    entries: Sequence[ManifestEntry],
    *,
    preset: Preset | None = None,
    jobs: int | None = None,
    cache: Path | None = None,
    target_cpus: int = 8,
    progress: Progress | None = None,
) -> list[RepoStatus]:
    """Each manifest entry's status, in manifest order (see the module docstring)."""
    cache = cache or default_cache()
    workers = jobs or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=max(4, workers * 2)) as clones:  # git clones: waiting on I/O
        read = list(clones.map(lambda entry: _read(entry, cache), entries))
    results: dict[int, RepoStatus] = {}
    sources = {(recorded.template, recorded.checkout) for _, recorded, _ in read if recorded is not None}
    with _templates(sources) as opened:
        work: list[tuple[int, _Job]] = []
        for index, (entry, (where, recorded, error)) in enumerate(zip(entries, read, strict=True)):
            if error is not None or where is None or recorded is None:
                results[index] = RepoStatus(repo=entry.repo, error=error)
                continue
            template_dir = opened[(recorded.template, recorded.checkout)]
            if isinstance(template_dir, Exception):
                results[index] = RepoStatus(repo=entry.repo, template=recorded.template, error=str(template_dir))
                continue
            work.append((index, _Job(entry.repo, str(where), template_dir, preset, target_cpus)))
        done = _run_parallel(_inspect, [job for _, job in work], workers, progress)
    for (index, _), result in zip(work, done, strict=True):
        results[index] = result
    return [results[index] for index in range(len(entries))]


# --- update ------------------------------------------------------------------------------------


@dataclass
class RepoUpdate:
    """One repository's line of `fleet update`."""

    repo: str
    action: Literal["updated", "conflicts", "current", "error"]
    branch: str | None = None
    from_version: str | None = None
    to_version: str | None = None
    conflicts: list[str] = field(default_factory=list)
    pushed: bool = False
    workdir: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _UpdateJob:
    repo: str
    branch: str | None
    workdir: str
    new_branch: str
    to: str | None
    push: bool
    preset: Preset | None


def commit_message(result: UpdateResult) -> str:
    """The update commit's message: the version change, the changelog entries, the conflicts."""
    target = result.target
    before = target.current_version or str(target.current_commit)[:12]
    after = target.latest_version or str(target.latest_commit)[:12]
    lines = [f"Update the template from {before} to {after}", ""]
    lines.append(f"Template: {target.template}")
    for section in target.changelog:
        lines += ["", f"## [{section['version']}]", section["text"]]
    if result.conflicts:
        lines += ["", "Conflicts (committed with their markers; resolve them before merging):"]
        lines += [f"- {path}" for path in result.conflicts]
    return "\n".join(lines).rstrip() + "\n"


def _identity(root: Path) -> list[str]:
    """git -c options for an author when git has none configured (a fresh CI runner)."""
    options = []
    for key, fallback in (("user.name", "flaskgen fleet"), ("user.email", "flaskgen@localhost")):
        if not git.probe(root, "config", key):
            options += ["-c", f"{key}={fallback}"]
    return options


def _update_one(job: _UpdateJob) -> RepoUpdate:
    from flaskgen.project import update as update_project

    entry = ManifestEntry(job.repo, job.branch)
    outcome = RepoUpdate(repo=job.repo, action="error", workdir=job.workdir)
    try:
        root = _clone(entry, Path(job.workdir), depth=None)
        default = git.probe(root, "rev-parse", "--abbrev-ref", "HEAD")
        if default == job.new_branch:
            raise FlaskgenError(f"--branch {job.new_branch} is the branch being updated; choose a new branch name")
        git.run("-C", str(root), "checkout", "--quiet", "-b", job.new_branch)
        result = update_project(root, to=job.to, preset=job.preset, no_input=True)
        outcome.from_version = result.target.current_version or result.target.current_commit
        outcome.to_version = result.target.latest_version or result.target.latest_commit
        if not result.changed:
            outcome.action = "current"
            return outcome
        git.run("-C", str(root), "add", "--all")
        git.run("-C", str(root), *_identity(root), "commit", "--quiet", "--no-verify", "-m", commit_message(result))
        outcome.branch = job.new_branch
        outcome.conflicts = list(result.conflicts)
        outcome.action = "conflicts" if result.conflicts else "updated"
        if job.push:
            git.run("-C", str(root), "push", "--quiet", "origin", f"refs/heads/{job.new_branch}")
            outcome.pushed = True
    except Exception as err:  # one broken repository must not stop the fleet run
        outcome.action, outcome.error = "error", _reason(err)
    return outcome


def update(
    entries: Sequence[ManifestEntry],
    *,
    branch: str,
    to: str | None = None,
    push: bool = False,
    preset: Preset | None = None,
    jobs: int | None = None,
    cache: Path | None = None,
    progress: Progress | None = None,
) -> list[RepoUpdate]:
    """A branch with the template update committed for every repository that is behind; each
    is a full clone under the cache (`workdir`), pushed to its origin with push. Repositories that
    are current are reported and left alone; a default branch is never written."""
    if not git.probe(Path.cwd(), "check-ref-format", "--branch", branch):
        raise ManifestError(f"--branch {branch!r} is not a valid branch name; choose e.g. flaskgen/update")
    cache = cache or default_cache()
    work = [_UpdateJob(e.repo, e.branch, str(_slot(cache, e, "update")), branch, to, push, preset) for e in entries]
    return _run_parallel(_update_one, work, jobs or os.cpu_count() or 1, progress)


# --- reports -----------------------------------------------------------------------------------


def as_json(repos: Sequence[RepoStatus]) -> str:
    return json.dumps({"repos": [r.to_json() for r in repos], "summary": summary(repos)}, indent=2) + "\n"


HTML_TEMPLATE = Path(__file__).with_name("fleet_report.html.j2")
"""The page `fleet status --html` writes (Jinja, autoescaped)."""


def as_html(repos: Sequence[RepoStatus], *, made: datetime | None = None) -> str:
    """One self-contained page (inline CSS, no scripts or external assets), autoescaped."""
    from jinja2 import Environment

    page = Environment(autoescape=True).from_string(HTML_TEMPLATE.read_text(encoding="utf-8"))
    when = (made or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    return page.render(repos=repos, summary=summary(repos), made=when)

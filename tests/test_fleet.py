"""`flaskgen fleet` on a fleet of real git repositories with bare "remotes" on disk, made from two
template releases (issue 13): status as JSON, text and HTML (rendered in headless Chromium), and
update branches pushed only where a repository is behind."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flaskgen.cli import app
from flaskgen.fleet import ManifestEntry, read_manifest
from flaskgen.testing import run_step, tool_env
from tests.helpers import SLUG, commit_all, edit, find_python, git, project_from, require, template_repository

runner = CliRunner()
FOUND_NO_RECORD = "has no .cruft.json"


@dataclass
class Fleet:
    root: Path
    template: Path
    manifest: Path
    preset: Path
    remotes: dict[str, str]
    """name -> the repository as the manifest names it"""
    v1: str
    v2: str


def _publish(project: Path, remotes: Path) -> str:
    bare = remotes / f"{project.name}.git"
    git(remotes, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    git(project, "push", "--quiet", str(bare), "main")
    return str(bare)


PLANTED_VIEW = '''"""Visit counter (planted: module-level state changed in a view)."""

from flask import Blueprint

bp = Blueprint("visits", __name__)
VISITS: list[str] = []


@bp.get("/visits")
def visits() -> dict[str, int]:
    VISITS.append("seen")
    return {"count": len(VISITS)}
'''


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    root = tmp_path_factory.mktemp("fleet")
    remotes = root / "remotes"
    remotes.mkdir()
    changelog = "# Changelog\n\n## [1.1.0]\n### Changed\n- keepalive 4 s.\n\n## [1.0.0]\n- First.\n"
    template = template_repository(root, changelog=changelog, tag="v1.0.0")
    v1 = git(template, "rev-parse", "HEAD")
    made: dict[str, Path] = {}
    made["behind"] = project_from(template, root / "work", "Svc Behind")
    made["drift"] = project_from(template, root / "work", "Svc Drift")
    made["conflict"] = project_from(template, root / "work", "Svc Conflict")
    (made["drift"] / "README.md").write_text((made["drift"] / "README.md").read_text() + "\nOn call: #drift.\n")
    commit_all(made["drift"], "our README note")
    edit(made["conflict"] / "deploy/gunicorn.conf.py", "keepalive = 5", "keepalive = 9")
    commit_all(made["conflict"], "our keepalive")

    edit(template / SLUG / "deploy/gunicorn.conf.py", "keepalive = 5", "keepalive = 4")
    v2 = commit_all(template, "1.1.0")
    git(template, "tag", "--annotate", "v1.1.0", "-m", "v1.1.0")

    made["current"] = project_from(template, root / "work", "Svc Current")
    made["violation"] = project_from(template, root / "work", "Svc Violation", database="sqlite")
    made["audit"] = project_from(template, root / "work", "Svc Audit")
    (made["audit"] / "src/svc_audit/visits.py").write_text(PLANTED_VIEW)
    commit_all(made["audit"], "visit counter")
    plain = root / "work/plain"
    plain.mkdir(parents=True)
    (plain / "README.md").write_text("not a template project\n")
    git(plain, "init", "--quiet", "--initial-branch=main")
    commit_all(plain, "plain")
    made["plain"] = plain

    remotes_by_name = {name: _publish(project, remotes) for name, project in made.items()}
    remotes_by_name["local"] = str(made["current"])  # a local work tree, read in place
    remotes_by_name["unreachable"] = str(root / "nowhere/missing.git")
    manifest = root / "fleet.txt"
    lines = ["# the organisation's services", ""]
    lines += [f"{remotes_by_name[name]}  # {name}" for name in ("current", "behind", "drift", "conflict")]
    lines += [remotes_by_name[name] for name in ("violation", "audit", "plain")]
    lines += [f"{remotes_by_name['local']}", f"{remotes_by_name['unreachable']} main"]
    manifest.write_text("\n".join(lines) + "\n")
    preset = root / "org.toml"
    preset.write_text('[locked]\ndatabase = "none"\n')
    return Fleet(root, template, manifest, preset, remotes_by_name, v1, v2)


def expected_status(fleet: Fleet) -> list[dict[str, Any]]:
    def row(name: str, status: str, **fields: Any) -> dict[str, Any]:
        base = {
            "repo": fleet.remotes[name], "status": status, "template": str(fleet.template),
            "current_version": "1.1.0" if status == "current" else "1.0.0", "latest_version": "1.1.0",
            "current_commit": fleet.v2 if status == "current" else fleet.v1, "latest_commit": fleet.v2,
            "releases_behind": 0 if status == "current" else 1, "drift": [], "audit": {},
            "preset_violations": [], "error": None,
        }  # fmt: skip
        return {**base, **fields}

    nothing = {key: None for key in ("template", "current_version", "latest_version", "current_commit",
                                     "latest_commit", "releases_behind")}  # fmt: skip
    return [
        row("current", "current"),
        row("behind", "behind"),
        row("drift", "behind", drift=["README.md"]),
        row("conflict", "behind", drift=["deploy/gunicorn.conf.py"]),
        row("violation", "current", preset_violations=[{"key": "database", "expected": "none", "actual": "sqlite"}]),
        row("audit", "current", audit={"FG301": 1}),
        {**row("plain", "error"), **nothing, "error": "PLAIN"},
        row("local", "current"),
        {**row("unreachable", "error"), **nothing, "error": "UNREACHABLE"},
    ]


def test_manifest_forms(tmp_path: Path) -> None:
    text = tmp_path / "m.txt"
    text.write_text("# c\n\nhttps://git.example.com/a.git\n/srv/b  release  # comment\n")
    assert read_manifest(text) == [ManifestEntry("https://git.example.com/a.git"), ManifestEntry("/srv/b", "release")]
    toml = tmp_path / "m.toml"
    toml.write_text('repos = ["https://git.example.com/a.git", "/srv/b release"]\n')
    assert read_manifest(toml) == read_manifest(text)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("", "lists no repositories"), ("a b c\n", ":1: 'a b c' has 3 fields"), ("a\na\n", "listed twice")],
)
def test_bad_manifest_exits_2(tmp_path: Path, text: str, fragment: str) -> None:
    manifest = tmp_path / "bad.txt"
    manifest.write_text(text)
    result = runner.invoke(app, ["fleet", "status", str(manifest)])
    assert result.exit_code == 2 and fragment in result.output
    assert runner.invoke(app, ["fleet", "status", str(tmp_path / "missing.txt")]).exit_code == 2


def test_status_reports_each_repository_exactly(fleet: Fleet, tmp_path: Path) -> None:
    args = ["fleet", "status", str(fleet.manifest), "--preset", str(fleet.preset), "--cache", str(tmp_path / "cache")]
    result = runner.invoke(app, [*args, "--json", "--jobs", "2"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    repos = report["repos"]
    plain, unreachable = repos[6], repos[8]
    assert FOUND_NO_RECORD in plain["error"], plain
    assert unreachable["error"].startswith(f"cannot clone {fleet.remotes['unreachable']}"), unreachable
    plain["error"], unreachable["error"] = "PLAIN", "UNREACHABLE"
    assert repos == expected_status(fleet)
    assert report["summary"] == {"repos": 9, "current": 4, "behind": 3, "error": 2, "drifted": 2,
                                 "preset_violations": 1, "audit_findings": 1, "clean": 2}  # fmt: skip

    text = runner.invoke(app, [*args, "--jobs", "1"])  # one process: the same answers
    assert text.exit_code == 1
    assert "1.0.0 -> 1.1.0" in text.output and "FG301x1" in text.output and "database=sqlite!=none" in text.output


class _Table(HTMLParser):
    """The fleet table's rows (cell texts) and row classes, from a DOM dump."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[str]]] = []
        self._cell: list[str] | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append((dict(attrs).get("class") or "", []))
        elif tag == "td" and self._in_body:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1][1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tbody":
            self._in_body = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_html_report_renders_in_headless_chromium(fleet: Fleet, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    require(chromium is not None, "chromium is not installed (apt-get install chromium)")
    assert chromium is not None
    page = tmp_path / "fleet.html"
    args = ["fleet", "status", str(fleet.manifest), "--preset", str(fleet.preset), "--cache", str(tmp_path / "c")]
    assert runner.invoke(app, [*args, "--html", str(page)]).exit_code == 1
    html = page.read_text()
    assert "<script" not in html and "http" not in html.split("<body>")[0]  # self-contained: no external assets
    flags = ["--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "fleet.png"
    subprocess.run([chromium, *flags, f"--screenshot={shot}", "--window-size=1400,900", page.as_uri()],
                   capture_output=True, timeout=120, check=True)  # fmt: skip
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    dom = subprocess.run([chromium, *flags, "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120, check=True).stdout  # fmt: skip
    table = _Table()
    table.feed(dom)
    assert [cls for cls, _ in table.rows] == [row["status"] for row in expected_status(fleet)]
    by_repo = {cells[0]: cells for _, cells in table.rows}
    assert by_repo[fleet.remotes["behind"]][1:4] == ["behind", "1.0.0 → 1.1.0", "1"]
    assert by_repo[fleet.remotes["audit"]][5] == "FG301x1"
    assert "current: 4" in dom and "behind: 3" in dom


def test_update_branches_only_where_behind(fleet: Fleet, tmp_path: Path) -> None:
    bare = {name: remote for name, remote in fleet.remotes.items() if remote.endswith(".git") and Path(remote).exists()}
    heads = {name: git(fleet.root, "--git-dir", remote, "rev-parse", "main") for name, remote in bare.items()}
    result = runner.invoke(
        app,
        ["fleet", "update", str(fleet.manifest), "--branch", "flaskgen/update-1.1.0", "--push",
         "--preset", str(fleet.preset), "--cache", str(tmp_path / "cache")],
    )  # fmt: skip
    assert result.exit_code == 1, result.output  # one conflict, two errors
    for name, remote in fleet.remotes.items():
        if name in heads:
            assert git(fleet.root, "--git-dir", remote, "rev-parse", "main") == heads[name], f"{name}: main moved"
            branches = git(fleet.root, "--git-dir", remote, "branch", "--list", "flaskgen/*")
            assert bool(branches) == (name in ("behind", "drift", "conflict")), (name, branches)
    assert "conflicts: 1" in result.output and "error: 2" in result.output and "updated: 2" in result.output

    conflict = tmp_path / "check-conflict"
    git(tmp_path, "clone", "--quiet", "--branch", "flaskgen/update-1.1.0", fleet.remotes["conflict"], str(conflict))
    message = git(conflict, "log", "-1", "--format=%B")
    assert message.startswith("Update the template from 1.0.0 to 1.1.0")
    assert "## [1.1.0]" in message and "- deploy/gunicorn.conf.py" in message
    assert "<<<<<<< yours" in (conflict / "deploy/gunicorn.conf.py").read_text()

    python = find_python("3.11")
    require(python is not None, "no Python 3.11 for the generated projects")
    for name in ("behind", "drift"):
        clone = tmp_path / f"check-{name}"
        git(tmp_path, "clone", "--quiet", "--branch", "flaskgen/update-1.1.0", fleet.remotes[name], str(clone))
        assert "keepalive = 4" in (clone / "deploy/gunicorn.conf.py").read_text()
        assert json.loads((clone / ".cruft.json").read_text())["commit"] == fleet.v2
        run_step(f"make test on {name}'s update branch", ["make", "test", f"PYTHON={python}"], clone, tool_env())
    assert runner.invoke(app, ["fleet", "update", str(fleet.manifest), "--branch", "main"]).exit_code == 1


def test_update_refuses_a_bad_branch_name(fleet: Fleet) -> None:
    result = runner.invoke(app, ["fleet", "update", str(fleet.manifest), "--branch", "no..dots"])
    assert result.exit_code == 2 and "not a valid branch name" in result.output


def test_cli_fleet_help_lists_both_commands() -> None:
    result = subprocess.run([sys.executable, "-m", "flaskgen", "fleet", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "status" in result.stdout and "update" in result.stdout

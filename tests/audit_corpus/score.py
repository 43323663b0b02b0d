"""Precision and recall of `flaskgen audit` on real public Flask projects.

    python -m tests.audit_corpus.score [--mirror /work/.mirror] [--unjudged] [--select ALL]

corpus.toml lists each project as `repo@commit` and a verdict for every finding the audit makes on
it (TP, FP or debatable, with one line why), plus the anti-patterns a reader found that the audit
should report (`missed`). No code of these projects is kept here: the trees come from bare git
mirrors, `<owner>+<name>/repo` under the --mirror folder (`git clone --bare
https://github.com/<owner>/<name> <folder>/<owner>+<name>/repo`), exported at the recorded commit.

Strict precision = TP / all findings; recall = TP / (TP + missed that the audit still does not
report). fresh-1.toml and fresh-2.toml are first-pass sets: each was judged once, by a reader who
had not seen the rules, at the audit commit named in its header, and is never rejudged or tuned on
(`--corpus` scores one against today's rules; its new findings show as unjudged). Exit 1 when a
finding has no verdict (judge it: `--unjudged` prints TOML to paste) or when a mirror is missing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from flaskgen.audit import Finding, run_audit

CORPUS = Path(__file__).with_name("corpus.toml")
VERDICTS = ("TP", "FP", "debatable")


@dataclass
class Score:
    counts: Counter[str] = field(default_factory=Counter)
    unjudged: list[tuple[str, Finding]] = field(default_factory=list)
    still_missed: list[dict[str, object]] = field(default_factory=list)

    @property
    def findings(self) -> int:
        return sum(self.counts.values())

    @property
    def precision(self) -> float:
        return self.counts["TP"] / self.findings if self.findings else 1.0

    @property
    def recall(self) -> float:
        found = self.counts["TP"]
        return found / (found + len(self.still_missed)) if found + len(self.still_missed) else 1.0


def key(item: dict[str, object] | Finding) -> tuple[str, str, int]:
    if isinstance(item, Finding):
        return item.code, item.path, item.line
    return str(item["code"]), str(item["path"]), int(item["line"])  # type: ignore[call-overload]


def judge(repo: str, findings: list[Finding], corpus: dict[str, list[dict[str, object]]], score: Score) -> Counter[str]:
    """Add one project's findings to the score; return its own counts."""
    verdicts = {key(v): str(v["verdict"]) for v in corpus.get("verdict", []) if v["repo"] == repo}
    own: Counter[str] = Counter()
    for finding in findings:
        verdict = verdicts.get(key(finding))
        if verdict is None:
            score.unjudged.append((repo, finding))
            own["unjudged"] += 1
            continue
        own[verdict] += 1
        score.counts[verdict] += 1
    reported = {key(f) for f in findings}
    for missed in corpus.get("missed", []):
        if missed["repo"] == repo and key(missed) not in reported:
            score.still_missed.append(missed)
            own["missed"] += 1
    return own


def export(mirror: Path, repo: str, commit: str, into: Path) -> Path:
    """The project's tree at commit, from its bare mirror. A snapshot may lack its largest blobs
    (data files); those are left out, as they are no source the audit reads."""
    git_dir = mirror / repo.replace("/", "+") / "repo"
    if (git_dir / ".git").is_dir():
        git_dir = git_dir / ".git"
    if not git_dir.is_dir():
        raise SystemExit(f"no mirror of {repo} at {git_dir}; git clone --bare https://github.com/{repo} {git_dir}")
    target = into / repo  # owner/name: the tree's folder is named as a checkout's is
    git = ["git", f"--git-dir={git_dir}"]
    listing = subprocess.run([*git, "ls-tree", "-r", "-z", commit], check=True, capture_output=True).stdout
    blobs = []
    for entry in listing.split(b"\0"):
        if entry:
            meta, _, path = entry.partition(b"\t")
            mode, kind, sha = meta.split()
            if kind == b"blob" and mode != b"120000":  # no symlinks
                blobs.append((sha, path.decode("utf-8", "replace")))
    batch = subprocess.run(
        [*git, "cat-file", "--batch"], input=b"".join(sha + b"\n" for sha, _ in blobs), check=True, capture_output=True
    ).stdout
    offset = 0
    for _sha, path in blobs:
        header_end = batch.index(b"\n", offset)
        header = batch[offset:header_end].split()
        offset = header_end + 1
        if header[-1] == b"missing":
            continue
        size = int(header[2])
        file = target / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(batch[offset : offset + size])
        offset += size + 1
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="verdict file (default: corpus.toml)")
    parser.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--unjudged", action="store_true", help="print TOML stubs for findings without a verdict")
    parser.add_argument("--select", action="append", default=[], help="rule codes/prefixes, ALL for the opt-in level")
    args = parser.parse_args(argv)
    corpus = tomllib.loads(args.corpus.read_text())
    score = Score()
    by_set: dict[str, Score] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for project in corpus["project"]:
            tree = export(args.mirror, project["repo"], project["commit"], Path(scratch))
            started = time.perf_counter()
            report = run_audit(tree, select=args.select)
            elapsed = time.perf_counter() - started
            own = judge(project["repo"], report.findings, corpus, score)
            judge(project["repo"], report.findings, corpus, by_set.setdefault(project.get("set", "-"), Score()))
            counts = " ".join(f"{k}={own[k]}" for k in (*VERDICTS, "missed", "unjudged") if own[k])
            skipped = f", {len(report.skipped)} skipped" if report.skipped else ""
            print(f"{project['repo']:50} {len(report.findings):3} findings {elapsed:5.2f}s{skipped}  {counts}")
    print(f"\n{score.findings} findings: " + ", ".join(f"{v} {score.counts[v]}" for v in VERDICTS))
    print(f"strict precision {score.precision:.0%}  recall {score.recall:.0%} "
          f"({score.counts['TP']} found, {len(score.still_missed)} missed)")  # fmt: skip
    for name, part in by_set.items():
        print(f"  {name}: {part.findings} findings, precision {part.precision:.0%}, recall {part.recall:.0%}")
    for missed in score.still_missed:
        print(f"  missed: {missed['repo']} {missed['path']}:{missed['line']} {missed['code']} - {missed['why']}")
    if score.unjudged:
        print(f"\n{len(score.unjudged)} finding(s) without a verdict", file=sys.stderr)
        for repo, f in score.unjudged:
            if args.unjudged:
                print(f'[[verdict]]\nrepo = "{repo}"\ncode = "{f.code}"\npath = "{f.path}"\nline = {f.line}\n'
                      f'verdict = ""\nwhy = ""  # {f.message}\n')  # fmt: skip
            else:
                print(f"  {repo} {f.path}:{f.line} {f.code} {f.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

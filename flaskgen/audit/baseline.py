"""`flaskgen audit --baseline FILE`: record today's findings once, then report only new ones.

A finding is matched by its code, its file and its message with line numbers taken out, so
editing lines above it does not make it new; a file that has the same finding twice needs two
entries. The file is JSON, sorted, meant to be committed (`{"version": 1, "findings": [...]}`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from flaskgen.audit.model import Finding
from flaskgen.errors import AuditError

FORMAT_VERSION = 1


def fingerprint(finding: Finding) -> tuple[str, str, str]:
    return finding.code, finding.path, re.sub(r"\bline \d+\b|:\d+\b", "line ?", finding.message)


def write_baseline(path: Path, findings: list[Finding]) -> None:
    entries = [dict(zip(("code", "path", "message"), fingerprint(f), strict=True)) for f in findings]
    entries.sort(key=lambda e: (e["path"], e["code"], e["message"]))
    try:
        path.write_text(json.dumps({"version": FORMAT_VERSION, "findings": entries}, indent=2) + "\n")
    except OSError as error:
        raise AuditError(f"cannot write the baseline {path}: {error.strerror}; pass a writable path") from error


def read_baseline(path: Path) -> Counter[tuple[str, str, str]]:
    try:
        data = json.loads(path.read_text())
        return Counter((e["code"], e["path"], e["message"]) for e in data["findings"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise AuditError(
            f"{path} is not a flaskgen audit baseline ({error}); delete it and run with --baseline again to record one"
        ) from error


def new_findings(findings: list[Finding], baseline: Counter[tuple[str, str, str]]) -> list[Finding]:
    """The findings the baseline does not hold (each baseline entry absorbs one finding)."""
    left = Counter(baseline)
    new: list[Finding] = []
    for finding in findings:
        key = fingerprint(finding)
        if left[key] > 0:
            left[key] -= 1
        else:
            new.append(finding)
    return new

"""Audit output: text for people, JSON for scripts, SARIF 2.1.0 for GitHub code scanning, and
GitHub Actions workflow commands (`::warning file=...`) for annotations on a pull request."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from flaskgen import __version__
from flaskgen.audit.model import AuditReport
from flaskgen.audit.rules import RULES

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/flaskgen/flaskgen#flaskgen-audit"


def _skipped_line(report: AuditReport) -> str:
    if not report.skipped:
        return ""
    shown = ", ".join(f"{path} ({reason})" for path, reason in report.skipped[:5])
    more = f" and {len(report.skipped) - 5} more" if len(report.skipped) > 5 else ""
    return f"skipped {len(report.skipped)} file(s), or lines of them, that do not parse: {shown}{more}\n"


def as_text(report: AuditReport, root: Path) -> str:
    lines = []
    for f in report.findings:
        lines.append(f"{f.path}:{f.line}: {f.code} {f.message} [{f.name}]")
        lines.append(f"    fix: {f.fix}")
    lines.append(f"{len(report.findings)} finding(s)" if report.findings else "no findings")
    return "\n".join(lines) + "\n" + _skipped_line(report)


def as_json(report: AuditReport, root: Path) -> str:
    data = {
        "version": __version__,
        "findings": [f.to_json() for f in report.findings],
        "skipped": [{"path": path, "reason": reason} for path, reason in report.skipped],
    }
    return json.dumps(data, indent=2) + "\n"


def _escape(text: str, *, property_value: bool = False) -> str:
    """GitHub workflow command escaping (data: % CR LF; properties also : and ,)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_value else text


def as_github(report: AuditReport, root: Path) -> str:
    """One `::warning` per finding; paths relative to the working directory (the checkout in a
    workflow), so the annotation lands on the file in the pull request."""
    base = root if root.is_dir() else root.parent
    lines = []
    for f in report.findings:
        path = os.path.relpath(base / f.path)
        title = _escape(f"{f.code} {f.name}", property_value=True)
        properties = f"file={_escape(path, property_value=True)},line={max(f.line, 1)},title={title}"
        lines.append(f"::warning {properties}::{_escape(f'{f.message}. Fix: {f.fix}.')}")
    for path, reason in report.skipped:
        file = _escape(os.path.relpath(base / path), property_value=True)
        lines.append(f"::notice file={file}::{_escape(f'flaskgen audit skipped this file or lines of it: {reason}')}")
    lines.append(f"{len(report.findings)} finding(s)" if report.findings else "no findings")
    return "\n".join(lines) + "\n"


def as_sarif(report: AuditReport, root: Path) -> str:
    rules = [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": f"{rule.summary}. Fix: {rule.fix}."},
            "help": {"text": rule.fix},
            "defaultConfiguration": {"level": "warning"},
        }
        for rule in RULES
    ]
    index = {rule.code: i for i, rule in enumerate(RULES)}
    results: list[dict[str, Any]] = [
        {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": "warning",
            "message": {"text": f"{f.message}. Fix: {f.fix}."},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": max(f.line, 1)},
                    }
                }
            ],
        }
        for f in report.findings
    ]
    notifications = [
        {
            "level": "note",
            "message": {"text": f"skipped: {reason}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"}}}],
        }
        for path, reason in report.skipped
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "flaskgen-audit",
                "version": __version__,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "results": results,
    }
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"


FORMATS = {"text": as_text, "json": as_json, "sarif": as_sarif, "github": as_github}

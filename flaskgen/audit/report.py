"""Audit output: text for people, JSON for scripts, SARIF 2.1.0 for GitHub code scanning."""

from __future__ import annotations

import json
from typing import Any

from flaskgen import __version__
from flaskgen.audit import Finding
from flaskgen.audit.rules import RULES

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/flaskgen/flaskgen#flaskgen-audit"


def as_text(findings: list[Finding]) -> str:
    lines = []
    for f in findings:
        lines.append(f"{f.path}:{f.line}: {f.code} {f.message} [{f.name}]")
        lines.append(f"    fix: {f.fix}")
    lines.append(f"{len(findings)} finding(s)" if findings else "no findings")
    return "\n".join(lines) + "\n"


def as_json(findings: list[Finding]) -> str:
    return json.dumps({"version": __version__, "findings": [f.to_json() for f in findings]}, indent=2) + "\n"


def as_sarif(findings: list[Finding]) -> str:
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
        for f in findings
    ]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "flaskgen-audit",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


FORMATS = {"text": as_text, "json": as_json, "sarif": as_sarif}

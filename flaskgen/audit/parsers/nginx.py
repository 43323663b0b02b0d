"""Nginx configs parsed with crossplane: directives, upstreams, a main config's `http {}` settings and
includes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def walk_directives(block: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every directive of a crossplane-parsed block, nested blocks included, in file order."""
    for directive in block:
        yield directive
        yield from walk_directives(directive.get("block", []))


def seconds(value: str) -> float | None:
    match = re.fullmatch(r"(\d+)(ms|s|m|h)?", value)
    if not match:
        return None
    number, unit = int(match.group(1)), match.group(2) or "s"
    return number * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


def size_bytes(value: str) -> float | None:
    match = re.fullmatch(r"(\d+)([kKmMgG])?", value)
    if not match:
        return None
    return int(match.group(1)) * 1024 ** " kmg".index((match.group(2) or " ").lower())


def parse_nginx(path: Path) -> list[dict[str, Any]] | None:
    """The directives of one config file (includes not followed), or None when it is not Nginx."""
    import crossplane

    payload = crossplane.parse(str(path), single=True, check_ctx=False, check_args=False, catch_errors=True)
    if payload["status"] != "ok" or not payload["config"]:
        return None
    return payload["config"][0]["parsed"]


def proxies(parsed: list[dict[str, Any]]) -> bool:
    return any(d["directive"] in ("proxy_pass", "uwsgi_pass") for d in walk_directives(parsed))


def upstream_addresses(parsed: list[dict[str, Any]]) -> Iterator[str]:
    """host:port of each proxy_pass target, upstream blocks resolved (`unix:` paths as they are)."""
    upstreams = {
        d["args"][0]: [s["args"][0] for s in d.get("block", []) if s["directive"] == "server" and s["args"]]
        for d in walk_directives(parsed)
        if d["directive"] == "upstream" and d["args"]
    }
    for directive in walk_directives(parsed):
        if directive["directive"] == "proxy_pass" and directive["args"]:
            target = re.sub(r"^https?://", "", directive["args"][0]).split("/")[0]
            yield from upstreams.get(target, [target])


def http_settings(parsed: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The directives of a file's `http {}` block by name (what its servers inherit)."""
    found: dict[str, dict[str, Any]] = {}
    for directive in parsed:
        if directive["directive"] == "http":
            found = {d["directive"]: d for d in directive.get("block", [])}
    return found


def includes(parsed: list[dict[str, Any]]) -> list[str]:
    """The `include` patterns of a file's `http {}` block (`/etc/nginx/conf.d/*.conf`)."""
    return [arg for d in http_settings(parsed).values() if d["directive"] == "include" for arg in d["args"]]

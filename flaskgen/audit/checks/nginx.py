"""FG201 (buffering off in front of sync workers), FG202 (slow-client timeouts), FG203 (no body limit)
in Nginx sites, with the `http {}` settings of the main config that includes them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flaskgen.audit.model import Hit
from flaskgen.audit.parsers.nginx import http_settings, proxies, seconds, size_bytes, walk_directives

SLOW_CLIENT_LIMIT_SECONDS = 60
"""Nginx's own default for client_header/body_timeout; an explicit value above it is a choice to
let slow clients hold connections longer."""


# A location whose path or settings say it streams (SSE, websockets, long polling): buffering off
# is what it needs there.
STREAMING_PATH = re.compile(r"stream|sse|event|socket|\bws\b|websocket|live|push|subscribe|notif", re.IGNORECASE)


def _is_streaming(location: dict[str, Any]) -> bool:
    settings = " ".join(" ".join(d["args"]) for d in walk_directives(location.get("block", [])))
    return bool(STREAMING_PATH.search(" ".join(location["args"]))) or "Upgrade" in settings


def check_nginx(
    parsed: list[dict[str, Any]],
    *,
    sync_workers: bool | None,
    outer: dict[str, dict[str, Any]] | None = None,
    outer_path: Path | None = None,
) -> Iterator[Hit]:
    """FG202 (client timeouts above Nginx's 60 s default) and FG203 (the body limit switched off)
    once per setting; FG201 (buffering off in front of sync workers, outside streaming
    locations). http-level settings count for the servers of the same file, and `outer`'s (the
    `http {}` of the main config that includes this file, in outer_path) for all of them."""
    inherited = {**{name: {**d, "file": outer_path} for name, d in (outer or {}).items()}, **http_settings(parsed)}
    reported: set[int] = set()
    for server in (d for d in walk_directives(parsed) if d["directive"] == "server" and "block" in d):
        if not proxies(server["block"]):
            continue
        own = {**inherited, **{d["directive"]: d for d in server["block"]}}
        slow = [
            f"{name} {own[name]['args'][0]}"
            for name in ("client_header_timeout", "client_body_timeout")
            if name in own and own[name]["args"]
            and (seconds(own[name]["args"][0]) or 0) > SLOW_CLIENT_LIMIT_SECONDS
        ]  # fmt: skip
        first = min((own[s.split()[0]] for s in slow), key=lambda d: d["line"], default=None)
        if first is not None and first["line"] not in reported:
            reported.add(first["line"])
            yield Hit(
                "FG202", first["line"], f"{' and '.join(slow)}: a slow client holds a connection that long",
                first.get("file"),
            )  # fmt: skip
        body = own.get("client_max_body_size")
        size = size_bytes(body["args"][0]) if body and body["args"] else None
        # A large explicit limit (4G for uploads) is a decision; 0 switches the check off.
        if body and size == 0 and body["line"] not in reported:
            reported.add(body["line"])
            yield Hit(
                "FG203", body["line"], "client_max_body_size 0: request bodies of any size are accepted and buffered",
                body.get("file"),
            )  # fmt: skip
        if sync_workers:
            yield from _buffering_off(server, reported)
            for name in ("proxy_buffering", "proxy_request_buffering"):
                setting = inherited.get(name)
                overridden = any(d["directive"] == name for d in server["block"])
                if setting and setting["args"] == ["off"] and not overridden and setting["line"] not in reported:
                    reported.add(setting["line"])
                    yield Hit("FG201", setting["line"], f"{name} off in front of sync workers", setting.get("file"))


def _buffering_off(server: dict[str, Any], reported: set[int]) -> Iterator[Hit]:
    locations = [d for d in walk_directives(server["block"]) if d["directive"] == "location"]
    streaming = {id(d) for loc in locations if _is_streaming(loc) for d in walk_directives(loc.get("block", []))}
    for directive in walk_directives(server["block"]):
        off = directive["directive"] in ("proxy_buffering", "proxy_request_buffering") and directive["args"] == ["off"]
        if off and id(directive) not in streaming and directive["line"] not in reported:
            reported.add(directive["line"])
            yield Hit("FG201", directive["line"], f"{directive['directive']} off in front of sync workers")

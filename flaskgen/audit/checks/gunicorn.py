"""FG101 (Gunicorn reachable past the proxy, or with none), FG102 (too many workers), FG103 (sync
workers with no timeout)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from flaskgen.audit.facts import ProjectFacts
from flaskgen.audit.model import Hit
from flaskgen.audit.parsers.gunicorn import LOOPBACK_HOSTS, GunicornConfig, is_platform_port, is_public, split_bind


def gunicorn_hits(config: GunicornConfig, facts: ProjectFacts, target_cpus: int) -> Iterator[Hit]:
    """FG101 (Gunicorn reachable past the proxy, or with none), FG102 (too many workers), FG103
    (sync, no timeout)."""
    for bind, line in config.binds:
        # In a container 0.0.0.0 is required (the published ports decide what is reachable); on
        # $PORT the platform's router is the proxy.
        if (
            not is_public(bind)
            or is_platform_port(bind)
            or (facts.containerised and config.origin not in ("systemd", "supervisor"))
        ):
            continue
        port = split_bind(bind)[1]
        if not facts.proxy_in_front:
            yield Hit("FG101", line, f"Gunicorn binds {bind} and the project has no reverse proxy in front of it")
            continue
        behind = sorted(a for a in facts.upstreams if split_bind(a)[0] in LOOPBACK_HOSTS and split_bind(a)[1] == port)
        if behind:
            yield Hit("FG101", line, f"Gunicorn binds {bind} but the proxy reaches it on {behind[0]}: "
                                     "the port is open past the proxy")  # fmt: skip
    yield from too_many_workers(config.workers, target_cpus)
    if config.timeout and config.timeout[0] == 0 and config.effective_worker_class == "sync":
        setting = "timeout = 0" if config.origin == "config" else "--timeout 0"
        yield Hit("FG103", config.timeout[1], f"{setting} with sync workers")


def published_past_the_proxy(facts: ProjectFacts) -> Iterator[tuple[Path, Hit]]:
    """FG101: a compose file runs the proxy and also publishes, on the host, the port the proxy
    reaches Gunicorn on (`5000:5000` next to Nginx's `proxy_pass http://web:5000`)."""
    gunicorn_ports = {split_bind(bind)[1] for config in facts.gunicorn for bind, _line in config.binds}
    upstreams = {split_bind(address) for address in facts.upstreams}
    for path, compose in facts.compose:
        if not compose.proxies:
            continue
        for port in compose.published:
            if port.host_ip in LOOPBACK_HOSTS or not port.target.isdigit():
                continue
            if (port.service, port.target) in upstreams or port.target in gunicorn_ports:
                message = f"{port.service}'s port {port.target} (Gunicorn) is published next to the proxy"
                yield path, Hit("FG101", port.line, f"{message} ({compose.proxies[0]}): it is open past the proxy")


def too_many_workers(workers: tuple[int, int] | None, target_cpus: int) -> Iterator[Hit]:
    limit = 2 * target_cpus + 1
    if workers is not None and workers[0] > limit:
        yield Hit("FG102", workers[1], f"{workers[0]} workers for a {target_cpus}-CPU target (2 x CPU + 1 = {limit})")

"""Compose files (by name or by format) read as YAML with line numbers: proxy services and the ports
each service publishes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Published:
    """A port a compose service publishes on the host."""

    service: str
    target: str
    """The container's port."""
    host_ip: str
    line: int


@dataclass(frozen=True)
class ComposeServices:
    proxies: tuple[str, ...]
    """Services that run a reverse proxy (an nginx/traefik/caddy/haproxy/envoy image, or built
    from a folder named for one)."""
    published: tuple[Published, ...]


def yaml_nodes(text: str) -> list[Any]:
    """The documents of a YAML text as position-carrying nodes ([] when it does not parse)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return [node for node in yaml.compose_all(text, Loader=loader) if node is not None]
    except yaml.YAMLError:
        return []


def mapping(node: Any) -> dict[str, Any]:
    """A YAML mapping node as {key: value node} (scalar keys only)."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _port(entry: Any) -> tuple[str, str] | None:
    """(container port, host address) of one `ports:` entry, short (`"127.0.0.1:80:8000"`) or long syntax."""
    import yaml

    if isinstance(entry, yaml.ScalarNode):
        parts = str(entry.value).split("/")[0].rsplit(":", 2)
        return parts[-1], parts[0] if len(parts) == 3 else ""
    long = mapping(entry)
    if "target" in long:
        return str(long["target"].value), str(long["host_ip"].value) if "host_ip" in long else ""
    return None


@dataclass(frozen=True)
class Build:
    """A compose service built from a Dockerfile of the project."""

    service: str
    context: str
    dockerfile: str
    target: str
    image: str
    """The name the built image is tagged with (`image:` next to `build:`), or ''."""


def compose_builds(text: str) -> list[Build]:
    found: list[Build] = []
    for document in yaml_nodes(text):
        for name, service in mapping(mapping(document).get("services")).items():
            settings = mapping(service)
            build = settings.get("build")
            if build is None:
                continue
            long = mapping(build)

            def value(key: str, where: dict[str, Any] = long) -> str:
                node = where.get(key)
                return str(getattr(node, "value", "") or "") if node is not None else ""

            context = (value("context") if long else str(getattr(build, "value", "") or "")) or "."
            found.append(
                Build(
                    name,
                    context,
                    value("dockerfile") or "Dockerfile",
                    value("target").lower(),
                    value("image", settings),
                )
            )
    return found


def compose_services(text: str) -> ComposeServices:
    """Proxy services and published ports of a compose file."""
    proxies_: list[str] = []
    published: list[Published] = []
    for document in yaml_nodes(text):
        for name, service in mapping(mapping(document).get("services")).items():
            settings = mapping(service)
            image = getattr(settings.get("image"), "value", "") or ""
            build = settings.get("build")
            context = str(getattr(mapping(build).get("context", build), "value", "") or "")
            if PROXY_NAMES.search(str(image)) or PROXY_NAMES.search(context):
                proxies_.append(name)
                continue
            for entry in getattr(settings.get("ports"), "value", None) or []:
                port = _port(entry)
                if port is not None:
                    published.append(Published(name, port[0], port[1], entry.start_mark.line + 1))
    return ComposeServices(tuple(proxies_), tuple(published))


PROXY_NAMES = re.compile(r"(^|[/.-])(nginx|traefik|caddy|haproxy|envoy(proxy)?)\b", re.IGNORECASE)

"""Kubernetes manifests and kustomize bases as YAML documents with their line numbers; the pods of
workloads, documents of one workload spread over a base and its patches (same kind and name) read
together, the first value of a field winning. Rendered Helm templates are not read (their `{{ }}`
is no YAML)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flaskgen.audit.parsers.commands import split_words
from flaskgen.audit.parsers.compose import PROXY_NAMES, mapping

WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod"}


@dataclass(frozen=True)
class KubeDoc:
    path: Path
    kind: str
    name: str
    node: Any
    """The document's YAML mapping node."""
    mentions: frozenset[str] = frozenset()
    """A Helm chart's values.yaml (kind HelmValues): the `.Values.` paths its templates mention."""


def scalar(node: Any) -> Any:
    """A scalar node's text, or None."""
    return getattr(node, "value", None) if not isinstance(getattr(node, "value", None), list) else None


def items(node: Any) -> list[Any]:
    value = getattr(node, "value", None)
    return value if isinstance(value, list) and not (value and isinstance(value[0], tuple)) else []


def line_of(node: Any) -> int:
    return int(node.start_mark.line) + 1


def get_node(node: Any, *keys: str) -> Any:
    for key in keys:
        node = mapping(node).get(key)
        if node is None:
            return None
    return node


def first_node(nodes: list[Any], keys: tuple[str, ...]) -> Any:
    """The value at keys in the first node (base, then patches) that has one."""
    return next((found for node in nodes if (found := get_node(node, *keys)) is not None), None)


def documents(path: Path, nodes: list[Any]) -> Iterator[KubeDoc]:
    for node in nodes:
        kind, name = scalar(get_node(node, "kind")), scalar(get_node(node, "metadata", "name"))
        if kind and get_node(node, "apiVersion") is not None:
            yield KubeDoc(path, str(kind), str(name or ""), node)


def cpus(quantity: str | None) -> float | None:
    """`500m` -> 0.5, `2` -> 2.0."""
    if quantity is None:
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(m?)", str(quantity).strip())
    if not match:
        return None
    return float(match.group(1)) / (1000 if match.group(2) else 1)


@dataclass
class Container:
    name: str
    nodes: list[Any]
    """The container's mapping node in each document (base first, then patches)."""
    path: Path

    def get(self, *keys: str) -> Any:
        return first_node(self.nodes, keys)

    @property
    def argv(self) -> list[str]:
        words = [str(scalar(item)) for key in ("command", "args") for item in items(self.get(key))]
        return [w for word in words for w in (split_words(word) if " " in word else [word])]

    @property
    def image(self) -> str:
        return str(scalar(self.get("image")) or "")

    @property
    def env(self) -> dict[str, Any]:
        """name -> the env entry's mapping node (value or valueFrom)."""
        found: dict[str, Any] = {}
        for node in reversed(self.nodes):
            for entry in items(get_node(node, "env")):
                name = scalar(get_node(entry, "name"))
                if name:
                    found[str(name)] = entry
        return found

    def literal_env(self, name: str) -> str | None:
        entry = self.env.get(name)
        value = scalar(get_node(entry, "value")) if entry is not None else None
        return str(value) if value is not None else None


@dataclass
class Pod:
    workload: KubeDoc
    specs: list[Any]
    """The pod spec node in each document of the workload."""
    containers: list[Container]

    def get(self, *keys: str) -> Any:
        return first_node(self.specs, keys)

    @property
    def labels(self) -> dict[str, str]:
        keys = ("metadata", "labels") if self.workload.kind == "Pod" else ("spec", "template", "metadata", "labels")
        return {k: str(scalar(v)) for k, v in mapping(get_node(self.workload.node, *keys)).items()}

    @property
    def has_proxy(self) -> bool:
        return any(PROXY_NAMES.search(c.image) or PROXY_NAMES.search(c.name) for c in self.containers)


def pods(docs: list[KubeDoc]) -> list[Pod]:
    """One Pod per workload (kind and name), its documents merged: the first one is the base."""
    grouped: dict[tuple[str, str], list[KubeDoc]] = {}
    for doc in docs:
        if doc.kind in WORKLOADS:
            grouped.setdefault((doc.kind, doc.name), []).append(doc)
    found: list[Pod] = []
    for group in grouped.values():
        group.sort(key=lambda d: (get_node(d.node, "spec", "template", "spec", "containers") is None, str(d.path)))
        specs = [d.node if d.kind == "Pod" else get_node(d.node, "spec", "template") for d in group]
        specs = [get_node(s, "spec") for s in specs if s is not None]
        containers: dict[str, Container] = {}
        for doc, spec in zip(group, specs, strict=False):
            for item in items(get_node(spec, "containers")):
                name = str(scalar(get_node(item, "name")) or "")
                containers.setdefault(name, Container(name, [], doc.path)).nodes.append(item)
        found.append(Pod(group[0], [s for s in specs if s is not None], list(containers.values())))
    return found


def leaves(node: Any, keys: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(key path, scalar node) of each scalar in nested mappings."""
    for key, value in mapping(node).items():
        if scalar(value) is None:
            yield from leaves(value, (*keys, key))
        else:
            yield (*keys, key), value


def walk_yaml(node: Any) -> Iterator[Any]:
    yield node
    value = getattr(node, "value", None)
    if isinstance(value, list):
        for item in value:
            if isinstance(item, tuple):
                yield from walk_yaml(item[0])
                yield from walk_yaml(item[1])
            else:
                yield from walk_yaml(item)
